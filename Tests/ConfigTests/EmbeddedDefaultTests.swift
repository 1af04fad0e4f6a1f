import XCTest
@testable import Config

final class EmbeddedDefaultTests: XCTestCase {
    func testEmbeddedDefaultServerTakesNameAndFQDNFromHostName() {
        let config = MailEdgeConfig.embeddedDefault(hostName: "mail01.contoso.com")
        XCTAssertNil(config.sourcePath)
        XCTAssertEqual(config.server.name, "mail01")
        XCTAssertEqual(config.server.fqdn, "mail01.contoso.com")
        XCTAssertEqual(config.server.workers, 0)
        XCTAssertEqual(config.server.dataDir, "var")
        XCTAssertEqual(config.server.certStore, "certs")
    }

    func testEmbeddedDefaultHasTheDesignConnectorsOnLoopback() {
        let config = MailEdgeConfig.embeddedDefault(hostName: "mail01.contoso.com")
        XCTAssertEqual(config.connectors.map(\.name), ["Default Frontend", "Client Frontend", "Client Frontend SMTPS",
                                                        "IMAP", "IMAPS", "POP3", "POP3S"])
        let rest = config.connectors[3...].map { "\($0.protocol.rawValue) \($0.bind[0]) \($0.tls.rawValue)" }
        XCTAssertEqual(rest, ["imap 127.0.0.1:2143 starttls", "imap 127.0.0.1:2993 implicit",
                              "pop3 127.0.0.1:2110 starttls", "pop3 127.0.0.1:2995 implicit"])

        let smtp = config.connectors[0]
        XCTAssertEqual(smtp.protocol, .smtp)
        XCTAssertEqual(smtp.bind.map(\.description), ["127.0.0.1:2525"])
        XCTAssertEqual(smtp.tls, .starttls)
        XCTAssertFalse(smtp.requireTLS)

        let submission = config.connectors[1]
        XCTAssertEqual(submission.protocol, .submission)
        XCTAssertEqual(submission.bind.map(\.description), ["127.0.0.1:2587"])
        XCTAssertEqual(submission.tls, .starttls)
        XCTAssertTrue(submission.requireTLS)

        let smtps = config.connectors[2]
        XCTAssertEqual(smtps.protocol, .submission)
        XCTAssertEqual(smtps.bind.map(\.description), ["127.0.0.1:2465"])
        XCTAssertEqual(smtps.tls, .implicit)

        for connector in config.connectors {
            XCTAssertEqual(connector.fqdn, "mail01.contoso.com")
            XCTAssertEqual(connector.backend, .store)
            XCTAssertNil(connector.certificate)
            XCTAssertFalse(connector.domainSecure)
            XCTAssertFalse(connector.proxyProtocolIn)
            XCTAssertFalse(connector.allowPlaintextAuth)
        }
    }

    func testEmbeddedDefaultPolicyAndLimits() {
        let config = MailEdgeConfig.embeddedDefault(hostName: "mail01.contoso.com")
        XCTAssertEqual(config.tls.protocols, [.tls12])
        XCTAssertFalse(config.tls.eccCertificateSupport)
        XCTAssertNil(config.tls.ciphers)
        XCTAssertNil(config.tls.ciphersuites)
        XCTAssertEqual(config.tls.sessionTicketKeys, "")
        XCTAssertEqual(config.limits.handshakeTimeout, 30)
        XCTAssertEqual(config.limits.idleTimeout, 300)
        XCTAssertEqual(config.limits.maxLineLength, 2048)
        XCTAssertEqual(config.limits.maxMessageSize, 36_700_160)
        XCTAssertEqual(config.limits.maxConnectionsPerClient, 20)
        XCTAssertEqual(config.limits.maxRecipients, 100)
        XCTAssertEqual(config.limits.drainTimeout, 10)
        XCTAssertEqual(config.store.acceptedDomains, [])
        XCTAssertEqual(config.managementBind.map(\.description), ["127.0.0.1:2443"])
        XCTAssertEqual(config.domainSecurity, DomainSecuritySettings(
            receiveDomains: [], trustedRoots: "certs/trusted", crlDir: "certs/crl", requireCRL: false))
        XCTAssertEqual(config.acceptedDomains, ["mail01.contoso.com", "localhost"])
    }

    func testSingleLabelAndEmptyHostNames() {
        XCTAssertEqual(MailEdgeConfig.embeddedDefault(hostName: "buildbox").server.name, "buildbox")
        XCTAssertEqual(MailEdgeConfig.embeddedDefault(hostName: "buildbox").server.fqdn, "buildbox")
        XCTAssertEqual(MailEdgeConfig.embeddedDefault(hostName: "").server.fqdn, "localhost")
    }

    func testSampleTOMLParsesToTheEmbeddedDefault() throws {
        let parsed = try MailEdgeConfig.parse(MailEdgeConfig.sampleTOML, path: "sample.toml", hostName: "mail01.contoso.com")
        XCTAssertEqual(parsed.sourcePath, "sample.toml")
        var expected = MailEdgeConfig.embeddedDefault(hostName: "mail01.contoso.com")
        expected.sourcePath = "sample.toml"
        XCTAssertEqual(parsed, expected)
    }

    func testLoadReadsAFile() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("config-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("mailedge.toml").path
        try MailEdgeConfig.sampleTOML.write(toFile: path, atomically: true, encoding: .utf8)
        let config = try MailEdgeConfig.load(path: path, hostName: "mx.example.org")
        XCTAssertEqual(config.sourcePath, path)
        XCTAssertEqual(config.server.fqdn, "mx.example.org")
    }

    func testLoadReportsAMissingFile() {
        XCTAssertThrowsError(try MailEdgeConfig.load(path: "/nonexistent/mailedge.toml", hostName: "h")) { error in
            let issues = (error as? ConfigError)?.issues ?? []
            XCTAssertEqual(issues.first?.key, "(file)")
            XCTAssertEqual(issues.first?.description, "/nonexistent/mailedge.toml: (file): no such file")
        }
    }
}
