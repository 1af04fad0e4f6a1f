import Foundation
import XCTest
@testable import Certificates

final class X509CertificatePropertiesTests: XCTestCase {
    func testRSALeafPropertiesAgreeWithOpenSSLText() throws {
        let pki = try TestPKI.get()
        let leaf = try pki.certificate("leaf.pem")
        let text = try pki.run(["x509", "-in", "leaf.pem", "-noout", "-text"])
        let serial = try pki.run(["x509", "-in", "leaf.pem", "-noout", "-serial"])

        XCTAssertEqual("serial=\(leaf.serialNumberHex)", serial.trimmingCharacters(in: .whitespacesAndNewlines))
        XCTAssertTrue(text.contains("TLS Web Server Authentication, TLS Web Client Authentication"), text)
        XCTAssertEqual(leaf.extendedKeyUsage, ["Server Authentication (1.3.6.1.5.5.7.3.1)",
                                               "Client Authentication (1.3.6.1.5.5.7.3.2)"])
        XCTAssertTrue(text.contains("Digital Signature, Key Encipherment"), text)
        XCTAssertEqual(leaf.keyUsage, ["digitalSignature", "keyEncipherment"])
        XCTAssertTrue(text.contains("CA:FALSE"), text)
        XCTAssertEqual(leaf.basicConstraintsCA, false)
        XCTAssertTrue(text.contains("Public Key Algorithm: rsaEncryption"), text)
        XCTAssertTrue(text.contains("Public-Key: (2048 bit)"), text)
        XCTAssertEqual(leaf.publicKeyAlgorithm, "RSA")
        XCTAssertEqual(leaf.publicKeySize, 2048)
        XCTAssertNil(leaf.publicKeyCurve)
    }

    func testECCCAPropertiesAgreeWithOpenSSLText() throws {
        let pki = try TestPKI.get()
        let intermediate = try pki.certificate("intermediate.pem")
        let text = try pki.run(["x509", "-in", "intermediate.pem", "-noout", "-text"])
        let serial = try pki.run(["x509", "-in", "intermediate.pem", "-noout", "-serial"])

        XCTAssertEqual("serial=\(intermediate.serialNumberHex)", serial.trimmingCharacters(in: .whitespacesAndNewlines))
        XCTAssertTrue(text.contains("CA:TRUE"), text)
        XCTAssertEqual(intermediate.basicConstraintsCA, true)
        XCTAssertTrue(text.contains("Certificate Sign, CRL Sign"), text)
        XCTAssertEqual(intermediate.keyUsage, ["keyCertSign", "cRLSign"])
        XCTAssertEqual(intermediate.extendedKeyUsage, [])
        XCTAssertTrue(text.contains("Public Key Algorithm: id-ecPublicKey"), text)
        XCTAssertTrue(text.contains("Public-Key: (256 bit)"), text)
        XCTAssertTrue(text.contains("NIST CURVE: P-256"), text)
        XCTAssertEqual(intermediate.publicKeyAlgorithm, "ECC")
        XCTAssertEqual(intermediate.publicKeySize, 256)
        XCTAssertEqual(intermediate.publicKeyCurve, "P-256")
    }

    func testAbsentExtensionsReadAsAbsent() throws {
        // The Management default certificate carries no basicConstraints (DESIGN.md).
        let key = try PrivateKey.generate(.ecdsa(curve: "P-384"))
        let profile = CertificateProfile(commonName: "plain", dnsNames: [], validity: .days(1), keyUsage: [],
                                         extendedKeyUsage: [], basicConstraintsCA: nil)
        let certificate = try profile.selfSign(key: key)
        XCTAssertNil(certificate.basicConstraintsCA)
        XCTAssertEqual(certificate.keyUsage, [])
        XCTAssertEqual(certificate.extendedKeyUsage, [])
        XCTAssertEqual(certificate.publicKeyCurve, "P-384")
        XCTAssertEqual(certificate.publicKeySize, 384)

        let management = try DefaultCertificate.management.profile(serverName: "mx", serverFQDN: "mx.contoso.com")
            .selfSign(key: try PrivateKey.generate(.rsa(bits: 2048)))
        XCTAssertNil(management.basicConstraintsCA)
        XCTAssertEqual(management.keyUsage, ["digitalSignature", "keyEncipherment", "dataEncipherment"])
        XCTAssertEqual(management.extendedKeyUsage, ["Server Authentication (1.3.6.1.5.5.7.3.1)"])
    }

    func testDERBytesAreOpenSSLsAndLoadBack() throws {
        let pki = try TestPKI.get()
        let leaf = try pki.certificate("leaf.pem")
        let name = "leaf-\(UUID().uuidString).der"
        try pki.run(["x509", "-in", "leaf.pem", "-outform", "DER", "-out", name])
        XCTAssertEqual(leaf.derBytes, try pki.bytes(name))

        let loaded = try X509Certificate.load(der: leaf.derBytes)
        XCTAssertEqual(loaded.thumbprint, leaf.thumbprint)
        XCTAssertEqual(loaded.subject, "CN=mail.contoso.com")
        XCTAssertThrowsError(try X509Certificate.load(der: Array(leaf.derBytes.dropLast(10))))
        XCTAssertThrowsError(try X509Certificate.load(der: leaf.derBytes + [0]))
    }
}
