import Foundation
import XCTest
@testable import Certificates

final class DefaultCertificateTests: XCTestCase {
    var directory: String!

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "mailedge-certs-\(UUID().uuidString)"
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
    }

    func testDefaultsAreCreatedOnceWithTheDesignProperties() throws {
        let store = CertificateStore(directory: directory)
        let now = Date(timeIntervalSince1970: 1_795_000_000)
        let created = try store.createDefaultsIfEmpty(serverName: "mail01", serverFQDN: "mail01.contoso.com", now: now)
        XCTAssertEqual(created.map(\.metadata.friendlyName), ["MailEdge", "MailEdge Server Auth Certificate", "Management"])
        XCTAssertTrue(try store.createDefaultsIfEmpty(serverName: "mail01", serverFQDN: "mail01.contoso.com").isEmpty)

        let byName = Dictionary(uniqueKeysWithValues: created.map { ($0.metadata.friendlyName, $0) })
        let main = try XCTUnwrap(byName["MailEdge"])
        XCTAssertEqual(main.leaf.subject, "CN=mail01")
        XCTAssertEqual(main.leaf.dnsNames, ["mail01", "mail01.contoso.com"])
        XCTAssertEqual(main.metadata.services, [.imap, .pop, .smtp, .https])
        XCTAssertFalse(main.metadata.exportable)

        let auth = try XCTUnwrap(byName["MailEdge Server Auth Certificate"])
        XCTAssertEqual(auth.leaf.subject, "CN=MailEdge Server Auth Certificate")
        XCTAssertEqual(auth.leaf.dnsNames, [])
        XCTAssertEqual(auth.metadata.services, [.smtp])

        let management = try XCTUnwrap(byName["Management"])
        XCTAssertEqual(management.leaf.subject, "CN=WMSvc-mail01")
        XCTAssertEqual(management.leaf.dnsNames, ["WMSvc-mail01"])

        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        for (certificate, years) in [(main, 5), (auth, 5), (management, 10)] {
            XCTAssertEqual(certificate.key?.bits, 2048)
            XCTAssertEqual(certificate.key?.algorithm, "RSA")
            XCTAssertEqual(certificate.leaf.signatureAlgorithm, "sha256WithRSAEncryption")
            XCTAssertTrue(certificate.leaf.isSelfSigned)
            XCTAssertEqual(certificate.leaf.notBefore, now)
            XCTAssertEqual(certificate.leaf.notAfter, calendar.date(byAdding: .year, value: years, to: now))
            XCTAssertEqual(certificate.thumbprint.hex.count, 64)
            let keyMode = try FileManager.default.attributesOfItem(atPath: try XCTUnwrap(certificate.keyPath))[.posixPermissions] as? Int
            XCTAssertEqual(keyMode, 0o600)
        }
    }

    func testStoreReadsBackWhatItWrote() throws {
        let store = CertificateStore(directory: directory)
        let created = try store.createDefaultsIfEmpty(serverName: "mx", serverFQDN: "mx.fabrikam.com")
        let (loaded, problems) = store.loadAll()
        XCTAssertEqual(problems, [])
        XCTAssertEqual(Set(loaded.map(\.thumbprint)), Set(created.map(\.thumbprint)))
        for certificate in loaded {
            XCTAssertNotNil(certificate.key)
            XCTAssertEqual(certificate.certificatePath, "\(directory!)/\(certificate.thumbprint.hex).pem")
        }
    }

    func testDamagedFilesAreReportedWithPathAndDoNotHideTheOthers() throws {
        let store = CertificateStore(directory: directory)
        let created = try store.createDefaultsIfEmpty(serverName: "mx", serverFQDN: "mx.fabrikam.com")
        // Truncate one certificate, swap another one's key for a foreign key.
        let truncated = created[0].certificatePath
        let pem = try String(contentsOfFile: truncated, encoding: .utf8)
        try String(pem.prefix(200)).write(toFile: truncated, atomically: true, encoding: .utf8)
        let foreign = try PrivateKey.generate(.rsa(bits: 2048))
        try Data(try foreign.pem()).write(to: URL(fileURLWithPath: try XCTUnwrap(created[1].keyPath)))

        let (loaded, problems) = store.loadAll()
        XCTAssertEqual(loaded.count, 2)
        XCTAssertTrue(problems.contains { $0.path == truncated })
        let mismatch = try XCTUnwrap(problems.first { $0.path == created[1].keyPath })
        XCTAssertTrue(mismatch.reason.contains("does not belong"))
        XCTAssertNil(loaded.first { $0.thumbprint == created[1].thumbprint }?.key)
        XCTAssertNotNil(loaded.first { $0.thumbprint == created[2].thumbprint }?.key)
    }

    func testECDSAKeysAndCustomProfiles() throws {
        let key = try PrivateKey.generate(.ecdsa(curve: "P-256"))
        XCTAssertEqual(key.algorithm, "ECC")
        XCTAssertEqual(key.bits, 256)
        let profile = CertificateProfile(commonName: "mail.contoso.com", dnsNames: ["mail.contoso.com", "autodiscover.contoso.com"],
                                         validity: .days(30), keyUsage: ["digitalSignature"], extendedKeyUsage: ["serverAuth"],
                                         basicConstraintsCA: false)
        let certificate = try profile.selfSign(key: key)
        XCTAssertEqual(certificate.certificateDomains, ["mail.contoso.com", "autodiscover.contoso.com"])
        XCTAssertEqual(certificate.signatureAlgorithm, "ecdsa-with-SHA256")
        XCTAssertTrue(certificate.matches(key))
        XCTAssertFalse(certificate.matches(try PrivateKey.generate(.ecdsa(curve: "P-256"))))
        XCTAssertEqual(certificate.notAfter.timeIntervalSince(certificate.notBefore), 30 * 86_400, accuracy: 1)
    }
}
