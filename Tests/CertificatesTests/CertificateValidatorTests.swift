import Foundation
import XCTest
@testable import Certificates

final class CertificateValidatorTests: XCTestCase {
    private func enterpriseValidator(_ pki: TestPKI, crls: [String]? = nil, requireCRL: Bool = false) throws -> CertificateValidator {
        let trusted = try pki.folder("trusted-\(UUID().uuidString)", with: ["root.pem"])
        let crlFolder = try crls.map { try pki.folder("crls-\(UUID().uuidString)", with: $0) }
        let validator = try CertificateValidator(trust: TrustSettings(useSystemRoots: false, trustedDirectory: trusted,
                                                                      crlDirectory: crlFolder, requireCRL: requireCRL))
        XCTAssertEqual(validator.problems, [])
        return validator
    }

    func testLeafWithIntermediateChainingToTheTrustedFolderIsValidEnterprise() throws {
        let pki = try TestPKI.get()
        let result = try enterpriseValidator(pki).validate([pki.certificate("leaf.pem"), pki.certificate("intermediate.pem")])
        XCTAssertEqual(result.status, .valid)
        XCTAssertEqual(result.rootCAType, .enterprise)
        XCTAssertNil(result.reason)
        XCTAssertEqual(result.chain.map(\.subject),
                       ["CN=mail.contoso.com", "CN=MailEdge Test Intermediate", "CN=MailEdge Test Root"])
    }

    func testMissingIntermediateIsUntrustedWithOpenSSLsReason() throws {
        let pki = try TestPKI.get()
        let result = try enterpriseValidator(pki).validate([pki.certificate("leaf.pem")])
        XCTAssertEqual(result.status, .untrusted)
        XCTAssertEqual(result.rootCAType, .unknown)
        XCTAssertTrue(result.reason?.contains("unable to get local issuer certificate") == true, "\(result.reason ?? "nil")")
        XCTAssertTrue(result.reason?.contains("CN=mail.contoso.com") == true)
    }

    func testExpiredLeafIsExpiredWithItsDate() throws {
        let pki = try TestPKI.get()
        let result = try enterpriseValidator(pki).validate([pki.certificate("expired.pem"), pki.certificate("intermediate.pem")])
        XCTAssertEqual(result.status, .expired)
        XCTAssertEqual(result.reason, "expired on 2021-01-01T00:00:00Z")
    }

    func testLeafBeforeItsNotBeforeIsNotYetValid() throws {
        let pki = try TestPKI.get()
        let result = try enterpriseValidator(pki).validate([pki.certificate("notyet.pem"), pki.certificate("intermediate.pem")])
        XCTAssertEqual(result.status, .notYetValid)
        XCTAssertEqual(result.reason, "not valid before 2090-01-01T00:00:00Z")
    }

    func testValidationDateIsTheOneGiven() throws {
        let pki = try TestPKI.get()
        let leaf = try pki.certificate("leaf.pem")
        let chain = [leaf, try pki.certificate("intermediate.pem")]
        let validator = try enterpriseValidator(pki)
        XCTAssertEqual(validator.validate(chain, at: leaf.notAfter.addingTimeInterval(86_400)).status, .expired)
        XCTAssertEqual(validator.validate(chain, at: leaf.notBefore.addingTimeInterval(60)).status, .valid)
    }

    func testLeafOfAnUnknownCAIsUntrusted() throws {
        let pki = try TestPKI.get()
        let result = try enterpriseValidator(pki).validate([pki.certificate("unknown-leaf.pem"), pki.certificate("unknown.pem")])
        XCTAssertEqual(result.status, .untrusted)
        XCTAssertEqual(result.rootCAType, .unknown)
        XCTAssertTrue(result.reason?.contains("self-signed certificate in certificate chain") == true, "\(result.reason ?? "nil")")
    }

    func testLeafRevokedByItsIssuersCRLIsRevoked() throws {
        let pki = try TestPKI.get()
        let validator = try enterpriseValidator(pki, crls: ["intermediate.crl", "root.crl"])
        let intermediate = try pki.certificate("intermediate.pem")
        let revoked = validator.validate([try pki.certificate("revoked.pem"), intermediate])
        XCTAssertEqual(revoked.status, .revoked)
        XCTAssertTrue(revoked.reason?.contains("certificate revoked") == true, "\(revoked.reason ?? "nil")")
        // The same CRLs leave the other leaf alone.
        let valid = validator.validate([try pki.certificate("leaf.pem"), intermediate])
        XCTAssertEqual(valid.status, .valid, valid.reason ?? "")
    }

    func testDERCRLIsReadToo() throws {
        let pki = try TestPKI.get()
        try pki.run(["crl", "-in", "intermediate.crl", "-outform", "DER", "-out", "intermediate.der.crl"])
        let validator = try enterpriseValidator(pki, crls: ["intermediate.der.crl"])
        let result = validator.validate([try pki.certificate("revoked.pem"), try pki.certificate("intermediate.pem")])
        XCTAssertEqual(result.status, .revoked)
    }

    func testIssuerWithoutCRLIsNotAnErrorUnlessCRLsAreRequired() throws {
        let pki = try TestPKI.get()
        let chain = [try pki.certificate("leaf.pem"), try pki.certificate("intermediate.pem")]
        // Only the root published a CRL: the intermediate's leaves have none.
        let lenient = try enterpriseValidator(pki, crls: ["root.crl"]).validate(chain)
        XCTAssertEqual(lenient.status, .valid, lenient.reason ?? "")
        XCTAssertEqual(lenient.rootCAType, .enterprise)

        let strict = try enterpriseValidator(pki, crls: ["root.crl"], requireCRL: true).validate(chain)
        XCTAssertEqual(strict.status, .untrusted)
        XCTAssertTrue(strict.reason?.contains("unable to get certificate CRL") == true, "\(strict.reason ?? "nil")")

        // With every issuer's CRL present the strict validator accepts the chain; the
        // root needs none of its own.
        let complete = try enterpriseValidator(pki, crls: ["root.crl", "intermediate.crl"], requireCRL: true).validate(chain)
        XCTAssertEqual(complete.status, .valid, complete.reason ?? "")
    }

    func testSelfSignedCertificateIsValidWithRootTypeNone() throws {
        let pki = try TestPKI.get()
        let key = try PrivateKey.generate(.ecdsa(curve: "P-256"))
        let certificate = try DefaultCertificate.mailEdge.profile(serverName: "mx", serverFQDN: "mx.contoso.com").selfSign(key: key)
        let result = try enterpriseValidator(pki, crls: ["root.crl"]).validate([certificate])
        XCTAssertEqual(result.status, .valid)
        XCTAssertEqual(result.rootCAType, .none)
        XCTAssertNil(result.reason)
        XCTAssertEqual(result.chain.count, 1)
    }

    func testTrustedRootItselfIsValidEnterpriseNotSelfSignedNone() throws {
        let pki = try TestPKI.get()
        let result = try enterpriseValidator(pki).validate([pki.certificate("root.pem")])
        XCTAssertEqual(result.status, .valid)
        XCTAssertEqual(result.rootCAType, .enterprise)
    }

    func testRootFromTheSystemStoreGivesThirdParty() throws {
        let pki = try TestPKI.get()
        // X509_STORE_set_default_paths reads SSL_CERT_FILE / SSL_CERT_DIR when called.
        let emptyDirectory = try pki.folder("empty-\(UUID().uuidString)", with: [])
        let saved = ["SSL_CERT_FILE", "SSL_CERT_DIR"].map { ($0, ProcessInfo.processInfo.environment[$0]) }
        defer { for (name, value) in saved { if let value { setenv(name, value, 1) } else { unsetenv(name) } } }
        setenv("SSL_CERT_FILE", pki.path("root.pem"), 1)
        setenv("SSL_CERT_DIR", emptyDirectory, 1)
        let validator = try CertificateValidator(trust: TrustSettings())
        let result = validator.validate([try pki.certificate("leaf.pem"), try pki.certificate("intermediate.pem")])
        XCTAssertEqual(result.status, .valid, result.reason ?? "")
        XCTAssertEqual(result.rootCAType, .thirdParty)
    }

    func testDamagedFilesAreReportedAndTheRestIsStillUsed() throws {
        let pki = try TestPKI.get()
        let trusted = try pki.folder("trusted-\(UUID().uuidString)", with: ["root.pem"])
        try "-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n"
            .write(toFile: "\(trusted)/broken.crt", atomically: true, encoding: .utf8)
        try "ignored".write(toFile: "\(trusted)/README.txt", atomically: true, encoding: .utf8)
        let crls = try pki.folder("crls-\(UUID().uuidString)", with: ["intermediate.crl"])
        try "garbage".write(toFile: "\(crls)/broken.crl", atomically: true, encoding: .utf8)

        let validator = try CertificateValidator(trust: TrustSettings(useSystemRoots: false, trustedDirectory: trusted,
                                                                      crlDirectory: crls))
        XCTAssertEqual(validator.problems.map(\.path), ["\(trusted)/broken.crt", "\(crls)/broken.crl"])
        let intermediate = try pki.certificate("intermediate.pem")
        XCTAssertEqual(validator.validate([try pki.certificate("leaf.pem"), intermediate]).status, .valid)
        XCTAssertEqual(validator.validate([try pki.certificate("revoked.pem"), intermediate]).status, .revoked)
    }

    func testOneValidatorServesManyThreads() throws {
        let pki = try TestPKI.get()
        let validator = try enterpriseValidator(pki, crls: ["intermediate.crl", "root.crl"])
        let good = [try pki.certificate("leaf.pem"), try pki.certificate("intermediate.pem")]
        let bad = [try pki.certificate("revoked.pem"), try pki.certificate("intermediate.pem")]
        let failures = Failures()
        DispatchQueue.concurrentPerform(iterations: 64) { index in
            let expected: CertificateStatus = index.isMultiple(of: 2) ? .valid : .revoked
            if validator.validate(index.isMultiple(of: 2) ? good : bad).status != expected { failures.add() }
        }
        XCTAssertEqual(failures.count, 0)
    }
}

/// A counter the concurrent test may bump from any thread.
private final class Failures: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func add() { lock.lock(); value += 1; lock.unlock() }
    var count: Int { lock.lock(); defer { lock.unlock() }; return value }
}
