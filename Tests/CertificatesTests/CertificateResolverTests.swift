import Foundation
import XCTest
@testable import Certificates

/// DESIGN.md's identity and resolver rules, table-driven, without sockets.
final class CertificateResolverTests: XCTestCase {
    static let now = Date(timeIntervalSince1970: 1_795_000_000)
    static let day: TimeInterval = 86_400

    static let ca: (certificate: X509Certificate, key: PrivateKey) = {
        let key = try! PrivateKey.generate(.rsa(bits: 2048))
        let profile = CertificateProfile(commonName: "Contoso Issuing CA", dnsNames: [], validity: .years(10),
                                         keyUsage: ["keyCertSign", "cRLSign"], extendedKeyUsage: [], basicConstraintsCA: true)
        return (try! profile.selfSign(key: key, now: now.addingTimeInterval(-1000 * day)), key)
    }()

    /// A record of the inventory: CA-issued unless `selfSigned`.
    static func record(_ cn: String, _ names: [String], services: [CertificateService] = [.smtp, .imap, .pop],
                       ecc: Bool = false, selfSigned: Bool = false, notBefore: Double = -10, days: Double = 365,
                       friendlyName: String? = nil) -> CertificateRecord {
        let key = try! PrivateKey.generate(ecc ? .ecdsa(curve: "P-256") : .rsa(bits: 2048))
        let start = now.addingTimeInterval(notBefore * day)
        let profile = CertificateProfile(commonName: cn, dnsNames: names, validity: .days(Int(days)),
                                         keyUsage: ["digitalSignature"], extendedKeyUsage: ["serverAuth"], basicConstraintsCA: false)
        let certificate = try! profile.sign(key: key, issuer: selfSigned ? nil : ca, now: start)
        let expired = start.addingTimeInterval(days * day) < now
        return CertificateRecord(
            certificate: StoredCertificate(chain: [certificate], key: key,
                                           metadata: CertificateMetadata(friendlyName: friendlyName ?? cn, services: services, exportable: false, origin: "test"),
                                           certificatePath: "\(cn).pem", keyPath: nil),
            validation: CertificateValidation(status: expired ? .expired : .valid, rootCAType: selfSigned ? .none : .enterprise, reason: nil, chain: [certificate]),
            source: .store)
    }

    // The inventory of the table below.
    static let defaultCert = record("mail01", ["mail01", "mail01.contoso.com"], services: [.smtp, .imap, .pop, .https], selfSigned: true, notBefore: -100, days: 1826, friendlyName: "MailEdge")
    static let san = record("mail.contoso.com", ["mail.contoso.com", "autodiscover.contoso.com"])
    static let wildcard = record("*.fabrikam.com", ["*.fabrikam.com"])
    static let eccSan = record("mail.contoso.com", ["mail.contoso.com"], ecc: true)
    static let selfSignedSameName = record("mail.contoso.com", ["mail.contoso.com"], selfSigned: true, notBefore: -1)
    static let older = record("smtp.tailspin.com", ["smtp.tailspin.com"], notBefore: -200, days: 700)
    static let newer = record("smtp.tailspin.com", ["smtp.tailspin.com"], notBefore: -20)
    static let expired = record("old.tailspin.com", ["old.tailspin.com"], notBefore: -400, days: 100)
    static let valid = record("old.tailspin.com", ["old.tailspin.com"], selfSigned: true)
    static let imapOnly = record("imap.woodgrove.com", ["imap.woodgrove.com"], services: [.imap])
    static let wildcardWoodgrove = record("*.woodgrove.com", ["*.woodgrove.com"], services: [.smtp])

    static let inventory = [defaultCert, san, wildcard, eccSan, selfSignedSameName, older, newer, expired, valid, imapOnly, wildcardWoodgrove]

    func resolve(_ name: String?, service: CertificateService = .smtp, ecc: Bool = false, ecdsa: Bool = false,
                 pins: [String] = [], records: [CertificateRecord] = inventory) -> CertificateResolver.Decision? {
        CertificateResolver(records: records).resolve(CertificateResolver.Request(
            service: service, serverName: name, connectorFQDN: "mail01.contoso.com", pins: pins,
            eccEnabled: ecc, clientOffersECDSA: ecdsa, defaultNames: ["mail01", "mail01.contoso.com"], now: Self.now))
    }

    func testResolverTable() {
        typealias Row = (String, String?, CertificateService, Bool, Bool, CertificateRecord, String)
        let rows: [Row] = [
            ("exact SAN name", "mail.contoso.com", .smtp, false, false, Self.san, "exact match"),
            ("second SAN name", "autodiscover.contoso.com", .smtp, false, false, Self.san, "exact match"),
            ("upper case and trailing dot", "MAIL.Contoso.COM.", .smtp, false, false, Self.san, "exact match"),
            ("wildcard one label", "smtp.fabrikam.com", .smtp, false, false, Self.wildcard, "wildcard match"),
            ("wildcard two levels: no match, default", "a.b.fabrikam.com", .smtp, false, false, Self.defaultCert, "service default"),
            ("bare domain vs wildcard: default", "fabrikam.com", .smtp, false, false, Self.defaultCert, "service default"),
            ("other TLD: default", "mail.fabrikam.net", .smtp, false, false, Self.defaultCert, "service default"),
            ("CA-issued beats self-signed", "mail.contoso.com", .imap, false, false, Self.san, "CA-issued"),
            ("newest NotBefore wins", "smtp.tailspin.com", .smtp, false, false, Self.newer, "exact match"),
            ("expired loses to valid", "old.tailspin.com", .smtp, false, false, Self.valid, "exact match"),
            ("not enabled for the service: wildcard of SMTP only is not used for IMAP", "imap.woodgrove.com", .imap, false, false, Self.imapOnly, "exact match"),
            ("wildcard enabled for SMTP only is used for SMTP", "mx.woodgrove.com", .smtp, false, false, Self.wildcardWoodgrove, "wildcard match"),
            ("wildcard enabled for SMTP only is not used for IMAP", "mx.woodgrove.com", .imap, false, false, Self.defaultCert, "service default"),
            ("service not enabled at all: falls to default", "imap.woodgrove.com", .https, false, false, Self.defaultCert, "service default"),
            ("no SNI: connector fqdn", nil, .smtp, false, false, Self.defaultCert, "exact match for connector fqdn"),
            ("ECC flag off, client ECDSA: RSA", "mail.contoso.com", .smtp, false, true, Self.san, "RSA"),
            ("ECC flag on, client ECDSA: ECC", "mail.contoso.com", .smtp, true, true, Self.eccSan, "ECC"),
            ("ECC flag on, client RSA only: RSA", "mail.contoso.com", .smtp, true, false, Self.san, "RSA"),
            ("ECC flag off, client RSA only: RSA", "mail.contoso.com", .smtp, false, false, Self.san, "RSA"),
        ]
        for (label, name, service, ecc, ecdsa, expected, reason) in rows {
            let decision = resolve(name, service: service, ecc: ecc, ecdsa: ecdsa)
            XCTAssertEqual(decision?.record.thumbprint, expected.thumbprint, label)
            XCTAssertTrue(decision?.reason.contains(reason) == true, "\(label): \(decision?.reason ?? "nil")")
            XCTAssertEqual(decision?.servedExpired, false, label)
        }
    }

    func testPinWins() {
        let pinned = resolve("mail.contoso.com", pins: [String(Self.selfSignedSameName.thumbprint.hex.prefix(12))])
        XCTAssertEqual(pinned?.record.thumbprint, Self.selfSignedSameName.thumbprint)
        XCTAssertTrue(pinned?.reason.contains("connector pin") == true)
        // One RSA and one ECC pin: the ECC one for ECDSA clients when enabled, else RSA.
        let pins = [Self.selfSignedSameName.thumbprint.hex, Self.eccSan.thumbprint.hex]
        XCTAssertEqual(resolve("x", ecc: true, ecdsa: true, pins: pins)?.record.thumbprint, Self.eccSan.thumbprint)
        XCTAssertEqual(resolve("x", ecc: true, ecdsa: false, pins: pins)?.record.thumbprint, Self.selfSignedSameName.thumbprint)
        XCTAssertEqual(resolve("x", ecc: false, ecdsa: true, pins: pins)?.record.thumbprint, Self.selfSignedSameName.thumbprint)
    }

    func testECCNeverPresentedWithFlagOffEvenWhenItIsTheOnlyMatch() {
        let records = [Self.defaultCert, Self.eccSan]
        for ecdsa in [false, true] {
            XCTAssertEqual(resolve("mail.contoso.com", ecc: false, ecdsa: ecdsa, records: records)?.record.thumbprint,
                           Self.defaultCert.thumbprint)
        }
        XCTAssertEqual(resolve("mail.contoso.com", ecc: true, ecdsa: true, records: records)?.record.thumbprint, Self.eccSan.thumbprint)
    }

    func testAuthCertificateIsNeverECC() {
        // `cert new/import/enable` refuse ECC for the Auth role; and an RSA-only
        // client (what the Auth role serves) never receives an ECC certificate.
        let auth = Self.record("MailEdge Server Auth Certificate", [], services: [.smtp], selfSigned: true,
                               friendlyName: "MailEdge Server Auth Certificate")
        XCTAssertEqual(auth.leaf.publicKeyAlgorithm, "RSA")
        let decision = resolve("mail.contoso.com", ecc: true, ecdsa: false, records: [auth, Self.eccSan])
        XCTAssertEqual(decision?.record.thumbprint, auth.thumbprint)
    }

    func testOnlyExpiredLeftIsServedAndFlagged() {
        let decision = resolve("old.tailspin.com", records: [Self.expired])
        XCTAssertEqual(decision?.record.thumbprint, Self.expired.thumbprint)
        XCTAssertEqual(decision?.servedExpired, true)
        XCTAssertTrue(decision?.reason.contains("only expired") == true)
    }

    func testTiesAreBrokenByThumbprint() {
        let a = Self.record("tie.contoso.com", ["tie.contoso.com"], notBefore: -5)
        let b = Self.record("tie.contoso.com", ["tie.contoso.com"], notBefore: -5)
        let expected = min(a.thumbprint, b.thumbprint)
        XCTAssertEqual(resolve("tie.contoso.com", records: [a, b])?.record.thumbprint, expected)
        XCTAssertEqual(resolve("tie.contoso.com", records: [b, a])?.record.thumbprint, expected)
    }

    func testNameMatching() {
        typealias Row = (String, [String], CertificateNameMatcher.Match?)
        let rows: [Row] = [
            ("mail.contoso.com", ["mail.contoso.com"], .exact),
            ("MAIL.CONTOSO.COM.", ["mail.contoso.com"], .exact),
            ("mail.contoso.com", ["Mail.Contoso.Com."], .exact),
            ("mail.contoso.com", ["*.contoso.com"], .wildcard),
            ("contoso.com", ["*.contoso.com"], nil),
            ("www.eu.contoso.com", ["*.contoso.com"], nil),
            ("mail.contoso.net", ["*.contoso.com"], nil),
            ("contoso.com", ["*.com"], nil),
            ("mail.contoso.com", ["mail*.contoso.com"], nil),
            ("mail.contoso.com", ["m*.contoso.com"], nil),
            ("foo.co.uk", ["*.co.uk"], nil),
            ("*.contoso.com", ["*.contoso.com"], nil),
            ("mail.contoso.com", ["*.contoso.com", "mail.contoso.com"], .exact),
        ]
        for (name, certificateNames, expected) in rows {
            XCTAssertEqual(CertificateNameMatcher.match(name, against: certificateNames), expected, "\(name) vs \(certificateNames)")
        }
        // Names already in normal form come back as they are; others are folded.
        XCTAssertEqual(CertificateNameMatcher.normalize("mail.contoso.com"), "mail.contoso.com")
        XCTAssertEqual(CertificateNameMatcher.normalize("Mail.Contoso.COM"), "mail.contoso.com")
        XCTAssertEqual(CertificateNameMatcher.normalize("mail.contoso.com."), "mail.contoso.com")
        XCTAssertEqual(CertificateNameMatcher.normalize("MAIL.CONTOSO.COM.."), "mail.contoso.com")
        XCTAssertEqual(CertificateNameMatcher.normalize("MÜNCHEN.de"), "münchen.de")
        XCTAssertEqual(CertificateNameMatcher.normalize(""), "")
        XCTAssertNotNil(CertificateNameMatcher.wildcardProblem("*.com"))
        XCTAssertNotNil(CertificateNameMatcher.wildcardProblem("mail.*.contoso.com"))
        XCTAssertNotNil(CertificateNameMatcher.wildcardProblem("ma*l.contoso.com"))
        XCTAssertNil(CertificateNameMatcher.wildcardProblem("*.contoso.com"))
    }
}
