import XCTest
@testable import Config

final class ConfigParseTests: XCTestCase {
    let full = """
    [server]
    name = "mail01"
    fqdn = "mail01.contoso.com"
    workers = 4
    data_dir = "/srv/mailedge/var"
    cert_store = "/srv/mailedge/certs"

    [tls]
    protocols = ["TLSv1.3", "TLSv1.2"]
    ecc_certificate_support = true
    ciphers = "ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL:!eNULL:-3DES:!RC4"
    ciphersuites = "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"
    session_ticket_keys = "/srv/mailedge/ticket.keys"

    [[connector]]
    name = "Default Frontend"
    protocol = "smtp"
    bind = ["0.0.0.0:25", "[::]:25"]
    tls = "starttls"
    require_tls = false
    fqdn = "mail.contoso.com"
    certificate = "A1B2C3D4E5F60718"
    domain_secure = true
    proxy_protocol_in = false
    backend = "store"

    [[connector]]
    name = "Client Frontend"
    protocol = "submission"
    bind = ["192.0.2.10:587", "[2001:db8:0:0::10]:587"]
    allow_plaintext_auth = false

    [[connector]]
    name = "Client Frontend SMTPS"
    protocol = "submission"
    bind = ["192.0.2.10:465"]
    tls = "implicit"
    certificate = "/etc/letsencrypt/live/mail.contoso.com/fullchain.pem"

    [limits]
    handshake_timeout = 15
    idle_timeout = 600.5
    max_line_length = 4096
    max_message_size = 52428800
    max_connections_per_client = 50
    max_recipients = 500
    drain_timeout = 30

    [store]
    accepted_domains = ["Contoso.com", "fabrikam.com", "contoso.com"]

    [management]
    bind = ["127.0.0.1:8443", "[::1]:8443"]

    [domain_security]
    receive_domains = ["Fabrikam.com"]
    trusted_roots = "/etc/mailedge/trusted"
    crl_dir = "/etc/mailedge/crl"
    require_crl = true
    """

    func testFullConfigRoundTrip() throws {
        let config = try ConfigTestSupport.parse(full)
        XCTAssertEqual(config.sourcePath, "test.toml")
        XCTAssertEqual(config.server, ServerSettings(
            name: "mail01", fqdn: "mail01.contoso.com", workers: 4,
            dataDir: "/srv/mailedge/var", certStore: "/srv/mailedge/certs"))
        XCTAssertEqual(config.tls, TLSSettings(
            protocols: [.tls12, .tls13], eccCertificateSupport: true,
            ciphers: "ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL:!eNULL:-3DES:!RC4",
            ciphersuites: "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256",
            sessionTicketKeys: "/srv/mailedge/ticket.keys"))

        XCTAssertEqual(config.connectors.count, 3)
        let inbound = config.connectors[0]
        XCTAssertEqual(inbound, ConnectorConfig(
            name: "Default Frontend", protocol: .smtp,
            bind: [BindAddress.parse("0.0.0.0:25")!, BindAddress.parse("[::]:25")!],
            tls: .starttls, requireTLS: false, fqdn: "mail.contoso.com",
            certificate: "a1b2c3d4e5f60718", domainSecure: true, proxyProtocolIn: false,
            backend: .store, allowPlaintextAuth: false))
        XCTAssertTrue(inbound.bind[0].isWildcard)
        XCTAssertTrue(inbound.bind[1].isWildcard && inbound.bind[1].isIPv6)

        let submission = config.connectors[1]
        XCTAssertEqual(submission.bind.map(\.description), ["192.0.2.10:587", "[2001:db8::10]:587"])
        XCTAssertEqual(submission.tls, .starttls)
        XCTAssertTrue(submission.requireTLS, "submission requires TLS by default")
        XCTAssertEqual(submission.fqdn, "mail01.contoso.com", "fqdn defaults to server.fqdn")

        let smtps = config.connectors[2]
        XCTAssertEqual(smtps.tls, .implicit)
        XCTAssertEqual(smtps.certificate, "/etc/letsencrypt/live/mail.contoso.com/fullchain.pem")

        XCTAssertEqual(config.limits, Limits(
            handshakeTimeout: 15, idleTimeout: 600.5, maxLineLength: 4096, maxMessageSize: 52_428_800,
            maxConnectionsPerClient: 50, maxRecipients: 500, drainTimeout: 30))
        XCTAssertEqual(config.store.acceptedDomains, ["contoso.com", "fabrikam.com"])
        XCTAssertEqual(config.acceptedDomains, ["mail01.contoso.com", "localhost", "contoso.com", "fabrikam.com"])
        XCTAssertEqual(config.managementBind.map(\.description), ["127.0.0.1:8443", "[::1]:8443"])
        XCTAssertEqual(config.domainSecurity, DomainSecuritySettings(
            receiveDomains: ["fabrikam.com"], trustedRoots: "/etc/mailedge/trusted",
            crlDir: "/etc/mailedge/crl", requireCRL: true))
    }

    func testMinimalConfigTakesDefaults() throws {
        let config = try ConfigTestSupport.parse(ConfigTestSupport.minimalConnector)
        XCTAssertEqual(config.server, ServerSettings.defaults(hostName: ConfigTestSupport.hostName))
        XCTAssertEqual(config.tls, TLSSettings())
        XCTAssertEqual(config.limits, Limits())
        XCTAssertEqual(config.managementBind, MailEdgeConfig.defaultManagementBind)
        XCTAssertEqual(config.connectors[0].fqdn, "mail01.contoso.com")
        XCTAssertEqual(config.connectors[0].tls, .starttls)
        XCTAssertFalse(config.connectors[0].requireTLS)
    }

    func testImplicitTLSWithRequireTLSIsFine() throws {
        let config = try ConfigTestSupport.parse("""
        [[connector]]
        name = "SMTPS"
        protocol = "submission"
        bind = ["127.0.0.1:465"]
        tls = "implicit"
        require_tls = true
        """)
        XCTAssertTrue(config.connectors[0].requireTLS)
    }

    func testPlaintextSubmissionWithoutTLSDoesNotRequireTLSByDefault() throws {
        let config = try ConfigTestSupport.parse("""
        [[connector]]
        name = "Plain"
        protocol = "submission"
        bind = ["127.0.0.1:587"]
        tls = "none"
        """)
        XCTAssertFalse(config.connectors[0].requireTLS)
    }

    func testEmptyManagementBindTurnsItOffAndEmptyStringsMeanNone() throws {
        let config = try ConfigTestSupport.parse(ConfigTestSupport.minimalConnector + """
        [management]
        bind = []
        [tls]
        ciphers = ""
        ciphersuites = ""
        """)
        XCTAssertEqual(config.managementBind, [])
        XCTAssertNil(config.tls.ciphers)
        XCTAssertNil(config.tls.ciphersuites)
    }

    func testSameAddressOnDifferentPortsAndBothWildcardFamiliesAreFine() throws {
        let config = try ConfigTestSupport.parse("""
        [[connector]]
        name = "A"
        protocol = "smtp"
        bind = ["0.0.0.0:25", "[::]:25", "127.0.0.1:26"]
        [[connector]]
        name = "B"
        protocol = "submission"
        bind = ["127.0.0.1:0", "127.0.0.1:0"]
        """)
        XCTAssertEqual(config.connectors.count, 2)
    }

    func testIssueDescriptionNamesFileKeyAndMessage() {
        let issue = ConfigIssue(file: "/etc/mailedge.toml", key: "tls.protocols", message: "boom")
        XCTAssertEqual(issue.description, "/etc/mailedge.toml: tls.protocols: boom")
        let error = ConfigError(issues: [issue, issue])
        XCTAssertEqual(error.description, "/etc/mailedge.toml: tls.protocols: boom\n/etc/mailedge.toml: tls.protocols: boom")
    }
}
