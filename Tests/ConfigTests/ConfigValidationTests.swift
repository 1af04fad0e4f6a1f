import XCTest
@testable import Config

/// One test per validation rule: each refused config names the key and says why.
final class ConfigValidationTests: XCTestCase {
    typealias S = ConfigTestSupport
    let connector = ConfigTestSupport.minimalConnector

    // MARK: syntax, unknown keys, types

    func testSyntaxErrorReportsLineAndColumn() {
        let issues = S.assertIssue("[server]\nname = \"mail01\"\nworkers = = 3\n", key: "(syntax)", contains: "line 3")
        XCTAssertEqual(issues.count, 1)
        XCTAssertTrue(issues[0].message.contains("column"), issues[0].message)
        XCTAssertTrue(issues[0].description.hasPrefix("test.toml: (syntax): "))
    }

    func testUnknownKeyInConnectorIsRefusedWithSuggestion() {
        let issues = S.assertIssue(connector + "requre_tls = true\n", key: "connector[0].requre_tls", contains: "unknown key")
        XCTAssertTrue(issues[0].message.contains("did you mean \"require_tls\""), issues[0].message)
    }

    func testUnknownTableIsRefused() {
        S.assertIssue(connector + "[servr]\nname = \"x\"\n", key: "servr", contains: "unknown table")
    }

    func testUnknownTopLevelKeyIsRefused() {
        S.assertIssue("workers = 2\n" + connector, key: "workers", contains: "unknown")
    }

    func testUnknownKeysInEveryTableAreRefused() {
        let issues = S.issues(connector + """
        [server]
        nmae = "x"
        [tls]
        protocol = ["TLSv1.2"]
        [limits]
        idle = 3
        [store]
        domains = []
        [management]
        listen = []
        [domain_security]
        "partner domains" = []
        """)
        XCTAssertEqual(Set(issues.map(\.key)), [
            "server.nmae", "tls.protocol", "limits.idle", "store.domains", "management.listen",
            "domain_security.\"partner domains\"",
        ])
        XCTAssertTrue(issues.allSatisfy { $0.message.hasPrefix("unknown key") })
    }

    func testWrongTypeNamesExpectedAndActual() {
        S.assertIssue(connector + "[server]\nworkers = \"4\"\n", key: "server.workers", contains: "expected an integer, got string")
        S.assertIssue(connector + "[server]\nworkers = 2.5\n", key: "server.workers", contains: "expected an integer, got float")
        S.assertIssue(connector + "[tls]\necc_certificate_support = \"yes\"\n",
                      key: "tls.ecc_certificate_support", contains: "expected a boolean")
        S.assertIssue(connector + "[server]\nfqdn = 5\n", key: "server.fqdn", contains: "expected a string, got integer")
        S.assertIssue(connector + "[limits]\nidle_timeout = \"5m\"\n", key: "limits.idle_timeout", contains: "expected a number, got string")
        S.assertIssue(connector + "[store]\naccepted_domains = \"contoso.com\"\n",
                      key: "store.accepted_domains", contains: "expected an array of strings, got string")
        S.assertIssue("server = 5\n" + connector, key: "server", contains: "expected a table, got integer")
    }

    func testConnectorMustBeAnArrayOfTables() {
        S.assertIssue("[connector]\nname = \"x\"\n", key: "connector", contains: "expected an array of tables ([[connector]]), got table")
        S.assertIssue("connector = [1]\n", key: "connector[0]", contains: "expected a table, got integer")
    }

    // MARK: connectors

    func testZeroConnectorsIsAnError() {
        S.assertIssue("[server]\nworkers = 1\n", key: "connector", contains: "at least one [[connector]] is required")
        S.assertIssue("connector = []\n", key: "connector", contains: "at least one [[connector]] is required")
    }

    func testUnknownProtocolListsTheValidOnes() {
        S.assertIssue("[[connector]]\nname = \"A\"\nprotocol = \"lmtp\"\nbind = [\"127.0.0.1:24\"]\n",
                      key: "connector[0].protocol", contains: "unknown protocol \"lmtp\"; expected one of smtp, submission, imap, pop3")
    }

    func testIMAPAndPOP3ConnectorsAreAccepted() throws {
        for proto in ["imap", "pop3"] {
            let config = try MailEdgeConfig.parse("[[connector]]\nname = \"A\"\nprotocol = \"\(proto)\"\nbind = [\"127.0.0.1:143\"]\n",
                                                  path: "test.toml", hostName: "mail01.contoso.com")
            XCTAssertEqual(config.connectors[0].protocol.rawValue, proto)
            XCTAssertEqual(config.connectors[0].tls, .starttls)
        }
    }

    func testRequiredConnectorKeysAreReported() {
        let issues = S.issues("[[connector]]\ntls = \"starttls\"\n")
        for key in ["name", "protocol", "bind"] {
            XCTAssertTrue(issues.contains { $0.key == "connector[0].\(key)" && $0.message == "required key is missing" },
                          "missing \(key): \(issues)")
        }
    }

    func testConnectorNameMustBeNonEmptyAndUnique() {
        S.assertIssue("[[connector]]\nname = \"  \"\nprotocol = \"smtp\"\nbind = [\"127.0.0.1:25\"]\n",
                      key: "connector[0].name", contains: "must not be empty")
        S.assertIssue(connector + "[[connector]]\nname = \"default frontend\"\nprotocol = \"smtp\"\nbind = [\"127.0.0.1:26\"]\n",
                      key: "connector[1].name", contains: "already used by connector[0]")
    }

    func testTLSNoneWithRequireTLSIsAnError() {
        S.assertIssue(connector + "tls = \"none\"\nrequire_tls = true\n", key: "connector[0].require_tls", contains: "needs TLS")
    }

    func testUnknownTLSModeIsAnError() {
        S.assertIssue(connector + "tls = \"ssl\"\n", key: "connector[0].tls", contains: "expected one of starttls, implicit, none")
    }

    func testConnectorFQDNMustBeAValidHostName() {
        S.assertIssue(connector + "fqdn = \"\"\n", key: "connector[0].fqdn", contains: "must not be empty")
        S.assertIssue(connector + "fqdn = \"mail_01.contoso.com\"\n", key: "connector[0].fqdn", contains: "not a valid host name")
        S.assertIssue(connector + "fqdn = \"-mail.contoso.com\"\n", key: "connector[0].fqdn", contains: "starts or ends with '-'")
        S.assertIssue(connector + "fqdn = \"mail..contoso.com\"\n", key: "connector[0].fqdn", contains: "empty label")
        S.assertIssue(connector + "fqdn = \"192.0.2.1\"\n", key: "connector[0].fqdn", contains: "is an IP address")
    }

    func testBackendMustBeStoreOrProxyURL() {
        for bad in ["maildir", "proxy://", "proxy://host", "proxy://host:0", "proxy://host:99999", "http://host:25", "proxy://bad_host:25"] {
            S.assertIssue(connector + "backend = \"\(bad)\"\n", key: "connector[0].backend", contains: "expected \"store\" or \"proxy://host:port\"")
        }
    }

    func testProxyProtocolInputIsNotAvailableYet() {
        S.assertIssue(connector + "proxy_protocol_in = true\n", key: "connector[0].proxy_protocol_in",
                      contains: "not available in this version yet")
    }

    func testProxyBackendIsParsedButNotAvailableYet() {
        S.assertIssue(connector + "backend = \"proxy://127.0.0.1:10025\"\n", key: "connector[0].backend",
                      contains: "not available in this version yet")
        XCTAssertEqual(Backend.parse("proxy://127.0.0.1:10025"), .proxy(host: "127.0.0.1", port: 10025))
        XCTAssertEqual(Backend.parse("proxy://postfix.internal:25"), .proxy(host: "postfix.internal", port: 25))
        XCTAssertEqual(Backend.parse("proxy://[::1]:143"), .proxy(host: "::1", port: 143))
        XCTAssertEqual(Backend.parse("store"), .store)
        XCTAssertEqual(Backend.proxy(host: "::1", port: 143).description, "proxy://[::1]:143")
    }

    func testDomainSecureOnlyOnSMTPWithTLS() {
        S.assertIssue("[[connector]]\nname = \"A\"\nprotocol = \"submission\"\nbind = [\"127.0.0.1:587\"]\ndomain_secure = true\n",
                      key: "connector[0].domain_secure", contains: "only for smtp connectors; this one is submission")
        S.assertIssue(connector + "tls = \"none\"\ndomain_secure = true\n", key: "connector[0].domain_secure", contains: "needs TLS")
    }

    func testCertificatePinMustBeThumbprintOrPath() {
        S.assertIssue(connector + "certificate = \"abc123\"\n", key: "connector[0].certificate", contains: "8 to 64 hex digits")
        S.assertIssue(connector + "certificate = \"my cert\"\n", key: "connector[0].certificate", contains: "neither a certificate thumbprint")
    }

    // MARK: bind addresses

    func testBadBindAddressesAreRefused() {
        let cases: [(String, String)] = [
            ("mail.contoso.com:25", "not a numeric IP address"),
            ("127.0.0.1:65536", "out of range"),
            ("127.0.0.1:99999", "out of range"),
            ("127.0.0.1", "has no port"),
            ("[::1]", "has no port"),
            ("::1:25", "must be in brackets"),
            ("127.0.0.1:smtp", "not a port number"),
            ("127.0.0.1:-1", "not a port number"),
            (":25", "has no address"),
            ("[::1:25", "no closing ']'"),
            ("[127.0.0.1]:25", "not a numeric IPv6 address"),
            ("256.1.1.1:25", "not a numeric IP address"),
        ]
        for (bad, message) in cases {
            S.assertIssue("[[connector]]\nname = \"A\"\nprotocol = \"smtp\"\nbind = [\"127.0.0.1:2525\", \"\(bad)\"]\n",
                          key: "connector[0].bind[1]", contains: message)
        }
    }

    func testBindMustBeANonEmptyArrayOfStrings() {
        S.assertIssue("[[connector]]\nname = \"A\"\nprotocol = \"smtp\"\nbind = []\n", key: "connector[0].bind", contains: "at least one address")
        S.assertIssue("[[connector]]\nname = \"A\"\nprotocol = \"smtp\"\nbind = \"127.0.0.1:25\"\n",
                      key: "connector[0].bind", contains: "expected an array of strings, got string")
        S.assertIssue("[[connector]]\nname = \"A\"\nprotocol = \"smtp\"\nbind = [25]\n",
                      key: "connector[0].bind[0]", contains: "expected a string, got integer")
    }

    func testDuplicateBindAcrossConnectorsIsRefused() {
        S.assertIssue(connector + "[[connector]]\nname = \"B\"\nprotocol = \"submission\"\nbind = [\"127.0.0.1:2525\"]\n",
                      key: "connector[1].bind[0]", contains: "127.0.0.1:2525 is already bound by connector[0].bind[0]")
    }

    func testDuplicateBindWithinAConnectorAndInCanonicalIPv6FormIsRefused() {
        S.assertIssue("[[connector]]\nname = \"A\"\nprotocol = \"smtp\"\nbind = [\"[::1]:25\", \"[0:0:0:0:0:0:0:1]:25\"]\n",
                      key: "connector[0].bind[1]", contains: "[::1]:25 is already bound by connector[0].bind[0]")
    }

    func testDuplicateBindWithManagementIsRefused() {
        S.assertIssue(connector + "[management]\nbind = [\"127.0.0.1:2525\"]\n",
                      key: "management.bind[0]", contains: "already bound by connector[0].bind[0]")
        S.assertIssue("[[connector]]\nname = \"A\"\nprotocol = \"smtp\"\nbind = [\"127.0.0.1:2443\"]\n",
                      key: "management.bind", contains: "already bound by connector[0].bind[0]")
    }

    func testWildcardAndSpecificAddressOfTheSameFamilyOnOnePortAreRefused() {
        S.assertIssue("[[connector]]\nname = \"A\"\nprotocol = \"smtp\"\nbind = [\"0.0.0.0:25\"]\n"
                      + "[[connector]]\nname = \"B\"\nprotocol = \"smtp\"\nbind = [\"192.0.2.1:25\"]\n",
                      key: "connector[1].bind[0]", contains: "a wildcard and a specific address of the same family cannot share a port")
        S.assertIssue("[[connector]]\nname = \"A\"\nprotocol = \"smtp\"\nbind = [\"[::1]:25\", \"[::]:25\"]\n",
                      key: "connector[0].bind[1]", contains: "overlaps [::1]:25")
    }

    func testManagementBindIsValidated() {
        S.assertIssue(connector + "[management]\nbind = [\"localhost:2443\"]\n", key: "management.bind[0]", contains: "not a numeric IP address")
    }

    // MARK: [tls]

    func testOldTLSVersionsAreRefused() {
        for old in ["TLSv1", "TLSv1.0", "TLSv1.1", "SSLv3"] {
            S.assertIssue(connector + "[tls]\nprotocols = [\"TLSv1.2\", \"\(old)\"]\n", key: "tls.protocols[1]",
                          contains: "TLS 1.0 and 1.1 are refused (insecure); use TLSv1.2 or TLSv1.3")
        }
    }

    func testUnknownAndEmptyProtocolListsAreRefused() {
        S.assertIssue(connector + "[tls]\nprotocols = [\"TLSv2\"]\n", key: "tls.protocols[0]", contains: "unknown protocol version \"TLSv2\"")
        S.assertIssue(connector + "[tls]\nprotocols = []\n", key: "tls.protocols", contains: "at least one protocol is required")
    }

    func testCipherStringThatEnablesAWeakSuiteIsRefusedNamingTheToken() {
        let issues = S.assertIssue(connector + "[tls]\nciphers = \"ECDHE-RSA-AES128-GCM-SHA256:DES-CBC3-SHA\"\n",
                                   key: "tls.ciphers", contains: "\"DES-CBC3-SHA\" is refused")
        XCTAssertEqual(issues.count, 1)
    }

    func testEveryRefusedCipherFamilyAndKeyword() {
        let refused = [
            "DES-CBC-SHA", "3DES", "EDH-RSA-DES-CBC3-SHA", "RC2-CBC-MD5", "RC4-SHA", "RC4", "MD5", "NULL-SHA256",
            "eNULL", "NULL", "EXPORT", "EXP", "EXP-RC4-MD5", "EXPORT40", "EXPORT56", "aNULL", "ADH-AES128-SHA",
            "AECDH-AES256-SHA", "ALL", "COMPLEMENTOFALL", "COMPLEMENTOFDEFAULT", "LOW", "TLS_RSA_WITH_3DES_EDE_CBC_SHA",
            "TLS_DH_anon_WITH_AES_128_CBC_SHA",
        ]
        for token in refused {
            S.assertIssue(connector + "[tls]\nciphers = \"ECDHE+AESGCM:\(token)\"\n", key: "tls.ciphers", contains: "\"\(token)\" is refused")
        }
    }

    func testCipherTokensCombinedWithPlusAndOtherSeparatorsAreChecked() {
        S.assertIssue(connector + "[tls]\nciphers = \"ECDHE+AESGCM, kRSA+RC4\"\n", key: "tls.ciphers", contains: "\"kRSA+RC4\" is refused")
        S.assertIssue(connector + "[tls]\nciphers = \"ECDHE+AESGCM +3DES\"\n", key: "tls.ciphers", contains: "\"+3DES\" is refused")
    }

    func testRemovingWeakSuitesIsFine() throws {
        let config = try S.parse(connector + "[tls]\nciphers = \"HIGH:!aNULL:!eNULL:!DES:-3DES:!RC4:!MD5:!EXPORT:!LOW:@STRENGTH\"\n")
        XCTAssertEqual(config.tls.ciphers, "HIGH:!aNULL:!eNULL:!DES:-3DES:!RC4:!MD5:!EXPORT:!LOW:@STRENGTH")
    }

    func testUnknownTLS13SuiteIsRefused() {
        S.assertIssue(connector + "[tls]\nciphersuites = \"TLS_AES_256_GCM_SHA384:TLS_AES_512_GCM\"\n",
                      key: "tls.ciphersuites", contains: "unknown TLS 1.3 suite \"TLS_AES_512_GCM\"")
        S.assertIssue(connector + "[tls]\nciphersuites = \"TLS_SHA256_SHA256\"\n", key: "tls.ciphersuites", contains: "do not encrypt")
    }

    // MARK: [limits]

    func testLimitsMustBePositive() {
        for key in ["handshake_timeout", "idle_timeout", "drain_timeout"] {
            S.assertIssue(connector + "[limits]\n\(key) = 0\n", key: "limits.\(key)", contains: "must be a positive number of seconds")
            S.assertIssue(connector + "[limits]\n\(key) = -1.5\n", key: "limits.\(key)", contains: "must be a positive number of seconds")
            S.assertIssue(connector + "[limits]\n\(key) = nan\n", key: "limits.\(key)", contains: "must be a positive number of seconds")
        }
        for key in ["max_connections_per_client", "max_recipients"] {
            S.assertIssue(connector + "[limits]\n\(key) = 0\n", key: "limits.\(key)", contains: "must be a positive integer")
        }
    }

    func testLineAndMessageSizeMinimums() {
        S.assertIssue(connector + "[limits]\nmax_line_length = 511\n", key: "limits.max_line_length", contains: "must be at least 512")
        S.assertIssue(connector + "[limits]\nmax_message_size = 1000\n", key: "limits.max_message_size", contains: "must be at least 1024")
        XCTAssertNoThrow(try S.parse(connector + "[limits]\nmax_line_length = 512\nmax_message_size = 1024\n"))
    }

    // MARK: [server], [store], [domain_security]

    func testServerNamesMustBeValidHostNames() {
        S.assertIssue(connector + "[server]\nname = \"mail 01\"\n", key: "server.name", contains: "not a valid host name")
        S.assertIssue(connector + "[server]\nfqdn = \"mail01.contoso.com.\"\n", key: "server.fqdn", contains: "empty label")
        S.assertIssue(connector + "[server]\nfqdn = \"\(String(repeating: "a", count: 64)).com\"\n",
                      key: "server.fqdn", contains: "longer than 63")
    }

    func testInvalidMachineHostNameAsksForExplicitNames() {
        do {
            _ = try MailEdgeConfig.parse(connector, path: "t.toml", hostName: "build_box")
            XCTFail("expected an error")
        } catch {
            XCTAssertEqual(Set(error.issues.map(\.key)), ["server.name", "server.fqdn"])
            XCTAssertTrue(error.issues.allSatisfy { $0.message.contains("set [server] name and fqdn") })
        }
        XCTAssertNoThrow(try MailEdgeConfig.parse(connector + "[server]\nname = \"mx\"\nfqdn = \"mx.contoso.com\"\n",
                                                  path: "t.toml", hostName: "build_box"))
    }

    func testWorkersAndFoldersAreChecked() {
        S.assertIssue(connector + "[server]\nworkers = -1\n", key: "server.workers", contains: "between 0 and 1024")
        S.assertIssue(connector + "[server]\ndata_dir = \"\"\n", key: "server.data_dir", contains: "must not be empty")
        S.assertIssue(connector + "[server]\ncert_store = \"\"\n", key: "server.cert_store", contains: "must not be empty")
        S.assertIssue(connector + "[domain_security]\ntrusted_roots = \"\"\n", key: "domain_security.trusted_roots", contains: "must not be empty")
    }

    func testAcceptedAndPartnerDomainsMustBeValid() {
        S.assertIssue(connector + "[store]\naccepted_domains = [\"contoso.com\", \"*.fabrikam.com\"]\n",
                      key: "store.accepted_domains[1]", contains: "not a valid domain name")
        S.assertIssue(connector + "[domain_security]\nreceive_domains = [\"fabrikam..com\"]\n",
                      key: "domain_security.receive_domains[0]", contains: "not a valid domain name")
        S.assertIssue(connector + "[domain_security]\nrequire_crl = 1\n", key: "domain_security.require_crl", contains: "expected a boolean")
    }

    // MARK: all at once

    func testAllIssuesAreCollectedInOnePass() {
        let issues = S.issues("""
        [server]
        workers = "many"

        [tls]
        protocols = ["TLSv1.1"]
        ciphers = "RC4-SHA"

        [[connector]]
        name = "A"
        protocol = "imap"
        bind = ["127.0.0.1:143"]
        requre_tls = true

        [[connector]]
        name = "A"
        protocol = "smtp"
        bind = ["127.0.0.1:143", "example.com:25"]
        tls = "none"
        require_tls = true

        [limits]
        max_line_length = 100
        """)
        let keys = issues.map(\.key)
        XCTAssertEqual(keys, [
            "server.workers",
            "tls.protocols[0]",
            "tls.ciphers",
            "connector[0].requre_tls",
            "connector[1].bind[1]",
            "connector[1].require_tls",
            "connector[1].name",
            "limits.max_line_length",
            "connector[1].bind[0]",
        ], issues.map(\.description).joined(separator: "\n"))
        XCTAssertTrue(issues.allSatisfy { $0.file == "test.toml" })
    }
}
