import Foundation
import XCTest
@testable import Certificates
@testable import TLS

/// The per-connector lookup table must decide exactly as the full resolver does.
final class CertificateSelectorTests: XCTestCase {
    static func record(_ cn: String, _ names: [String], ecc: Bool = false, selfSigned: Bool = true) -> CertificateRecord {
        let key = try! PrivateKey.generate(ecc ? .ecdsa(curve: "P-256") : .rsa(bits: 2048))
        let profile = CertificateProfile(commonName: cn, dnsNames: names, validity: .days(365),
                                         keyUsage: ["digitalSignature"], extendedKeyUsage: ["serverAuth"], basicConstraintsCA: false)
        let certificate = try! profile.selfSign(key: key, now: Date().addingTimeInterval(-86_400))
        return CertificateRecord(
            certificate: StoredCertificate(chain: [certificate], key: key,
                                           metadata: CertificateMetadata(friendlyName: cn, services: [.smtp], exportable: false, origin: "test"),
                                           certificatePath: cn, keyPath: nil),
            validation: CertificateValidation(status: .valid, rootCAType: .none, reason: nil, chain: [certificate]),
            source: .store)
    }

    func testTableAgreesWithTheResolver() {
        let records = [
            Self.record("mx1", ["mx1", "mx1.contoso.com"]),
            Self.record("mail.contoso.com", ["mail.contoso.com", "autodiscover.contoso.com"]),
            Self.record("mail.contoso.com", ["mail.contoso.com"], ecc: true),
            Self.record("*.fabrikam.com", ["*.fabrikam.com"]),
            Self.record("*.fabrikam.com", ["*.fabrikam.com"], ecc: true),
        ]
        let resolver = CertificateResolver(records: records)
        for eccEnabled in [false, true] {
            let template = CertificateResolver.Request(service: .smtp, serverName: nil, connectorFQDN: "mx1.contoso.com",
                                                       eccEnabled: eccEnabled, defaultNames: ["mx1", "mx1.contoso.com"])
            guard let selector = CertificateSelector(resolver: resolver, template: template) else { return XCTFail("no selector") }
            let names: [String?] = [nil, "mail.contoso.com", "MAIL.contoso.com.", "autodiscover.contoso.com", "smtp.fabrikam.com",
                                    "a.b.fabrikam.com", "fabrikam.com", "unknown.example", "mx1", "mx1.contoso.com"]
            for name in names {
                for ecdsa in [false, true] {
                    var request = template
                    request.serverName = name
                    request.clientOffersECDSA = ecdsa
                    let expected = resolver.resolve(request)
                    let selected = selector.select(serverName: name, clientOffersECDSA: ecdsa)
                    XCTAssertEqual(selected.map { selector.certificates[$0.choice.index].thumbprint }, expected?.record.thumbprint,
                                   "\(name ?? "no SNI") ecdsa=\(ecdsa) ecc=\(eccEnabled)")
                    XCTAssertNotNil(selected?.id, "fast path")
                    XCTAssertFalse(selected?.choice.reason.contains("mailedge-") ?? true, "probe names stay out of reasons")
                }
            }
        }
    }
}
