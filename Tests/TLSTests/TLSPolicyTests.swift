import Foundation
import XCTest
import Certificates
@testable import TLS

final class TLSPolicyTests: XCTestCase {
    static let certificate: StoredCertificate = {
        let key = try! PrivateKey.generate(.rsa(bits: 2048))
        let leaf = try! DefaultCertificate.mailEdge.profile(serverName: "mx", serverFQDN: "mx.contoso.com").selfSign(key: key)
        return StoredCertificate(chain: [leaf], key: key,
                                 metadata: CertificateMetadata(friendlyName: "MailEdge", services: [.smtp], exportable: false, origin: "test"),
                                 certificatePath: "memory", keyPath: nil)
    }()

    func testDefaultPolicyIsECDHEFirstAndAEADOnly() throws {
        let context = try ServerTLSContext(policy: TLSPolicy(), certificate: Self.certificate)
        let tls12 = context.enabledCiphers.filter { !$0.hasPrefix("TLS_") }
        XCTAssertEqual(tls12.first, "ECDHE-ECDSA-AES256-GCM-SHA384")
        XCTAssertTrue(tls12.allSatisfy { $0.contains("GCM") || $0.contains("CHACHA20") }, "\(tls12)")
        let firstNonEC = try XCTUnwrap(tls12.firstIndex { !$0.hasPrefix("ECDHE") })
        XCTAssertTrue(tls12[..<firstNonEC].allSatisfy { $0.hasPrefix("ECDHE") })
        for weak in ["DES", "RC4", "RC2", "MD5", "NULL", "EXP", "CBC", "ADH"] {
            XCTAssertFalse(context.enabledCiphers.contains { $0.contains(weak) }, weak)
        }
    }

    func testForbiddenFamiliesCannotBeEnabledByACipherString() {
        // Everything named here is removed by the policy's fixed exclusions, so
        // nothing usable is left.
        for ciphers in ["RC4-SHA", "DES-CBC3-SHA", "NULL-SHA256", "EXP-RC4-MD5", "ADH-AES128-GCM-SHA256"] {
            XCTAssertThrowsError(try ServerTLSContext(policy: TLSPolicy(ciphers: ciphers), certificate: Self.certificate), ciphers) { error in
                XCTAssertEqual((error as? TLSSetupError)?.key, "tls.ciphers")
            }
        }
    }

    func testNonAEADCiphersAreRefusedWithTheKey() {
        XCTAssertThrowsError(try ServerTLSContext(policy: TLSPolicy(ciphers: "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-SHA"),
                                                  certificate: Self.certificate)) { error in
            let setup = error as? TLSSetupError
            XCTAssertEqual(setup?.key, "tls.ciphers")
            XCTAssertTrue(setup?.message.contains("ECDHE-RSA-AES128-SHA") == true, "\(String(describing: setup))")
        }
    }

    func testTLS13SuitesOnlyWhenAllowed() throws {
        let context = try ServerTLSContext(policy: TLSPolicy(minimumVersion: .tls12, maximumVersion: .tls13), certificate: Self.certificate)
        XCTAssertTrue(context.enabledCiphers.contains("TLS_AES_256_GCM_SHA384"))
    }

    func testACertificateWithoutKeyIsRefused() {
        var keyless = Self.certificate
        keyless.key = nil
        XCTAssertThrowsError(try ServerTLSContext(policy: TLSPolicy(), certificate: keyless))
    }
}
