import Foundation
import XCTest
@testable import Certificates

final class CertificateSigningRequestTests: XCTestCase {
    func testRequestIsSignedAndCarriesSubjectAndEveryNameAsOpenSSLReadsIt() throws {
        let pki = try TestPKI.get()
        let key = try PrivateKey.generate(.rsa(bits: 2048))
        let request = try CertificateSigningRequest.make(key: key, commonName: "mail.contoso.com",
                                                         dnsNames: ["mail.contoso.com", "autodiscover.contoso.com"],
                                                         organization: "Contoso", country: "US")
        XCTAssertEqual(request.subject, "CN=mail.contoso.com,O=Contoso,C=US")
        XCTAssertEqual(request.dnsNames, ["mail.contoso.com", "autodiscover.contoso.com"])

        let file = pki.path("request-\(UUID().uuidString).csr")
        try Data(request.pem).write(to: URL(fileURLWithPath: file))
        let text = try pki.run(["req", "-in", file, "-noout", "-text", "-verify"])
        XCTAssertTrue(text.contains("verify OK"), text)
        XCTAssertTrue(text.contains("DNS:mail.contoso.com, DNS:autodiscover.contoso.com"), text)
        XCTAssertTrue(text.contains("Signature Algorithm: sha256WithRSAEncryption"), text)
        XCTAssertTrue(text.contains("C = US, O = Contoso, CN = mail.contoso.com"), text)
    }

    func testParseReadsBackWhatMakeWroteAndMatchesOnlyItsKey() throws {
        let key = try PrivateKey.generate(.ecdsa(curve: "P-256"))
        let made = try CertificateSigningRequest.make(key: key, commonName: "mx.fabrikam.com", dnsNames: ["mx.fabrikam.com"])
        let parsed = try CertificateSigningRequest.parse(pem: made.pem)
        XCTAssertEqual(parsed.subject, "CN=mx.fabrikam.com")
        XCTAssertEqual(parsed.dnsNames, ["mx.fabrikam.com"])
        XCTAssertEqual(parsed.pem, made.pem)
        XCTAssertTrue(parsed.publicKeyMatches(key))
        XCTAssertFalse(parsed.publicKeyMatches(try PrivateKey.generate(.ecdsa(curve: "P-256"))))
        XCTAssertFalse(parsed.publicKeyMatches(try PrivateKey.generate(.rsa(bits: 2048))))
    }

    func testRequestMadeByTheOpenSSLToolParses() throws {
        let pki = try TestPKI.get()
        let parsed = try CertificateSigningRequest.parse(pem: pki.bytes("unknown-leaf.csr"))
        XCTAssertEqual(parsed.subject, "CN=stranger.fabrikam.com")
        XCTAssertEqual(parsed.dnsNames, [])
        XCTAssertTrue(parsed.publicKeyMatches(try pki.key("unknown-leaf.key")))
    }

    func testNameThatIsNotADNSNameIsRefused() throws {
        let key = try PrivateKey.generate(.ecdsa(curve: "P-256"))
        for bad in ["", "two words.contoso.com", "a.com,DNS:evil.com", "bücher.example"] {
            XCTAssertThrowsError(try CertificateSigningRequest.make(key: key, commonName: "x", dnsNames: [bad]), bad)
        }
    }

    func testDamagedRequestIsAnError() throws {
        let key = try PrivateKey.generate(.ecdsa(curve: "P-256"))
        let made = try CertificateSigningRequest.make(key: key, commonName: "mx", dnsNames: ["mx"])
        XCTAssertThrowsError(try CertificateSigningRequest.parse(pem: Array("not a request".utf8)))
        // Flip one character inside the base64 body, away from the header.
        var damaged = made.pem
        let index = damaged.count / 2
        damaged[index] = damaged[index] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        XCTAssertThrowsError(try CertificateSigningRequest.parse(pem: damaged))
    }
}
