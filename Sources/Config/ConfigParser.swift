import TOMLKit

/// Walks a parsed `mailedge.toml` by hand (not Codable), so every issue carries its
/// key path, and collects all issues instead of stopping at the first. Used once per
/// load on one thread, then dropped; TOMLKit's types never leave it.
final class ConfigParser {
    let file: String
    let hostName: String
    private(set) var issues: [ConfigIssue] = []

    /// Each bind address with the key that set it, for the duplicate check across
    /// connectors and the management endpoint.
    var claimedBinds: [(address: BindAddress, key: String, owner: String)] = []

    static let topLevelTables = ["server", "tls", "connector", "limits", "store", "management", "domain_security", "certificate"]

    init(file: String, hostName: String) {
        self.file = file
        self.hostName = hostName
    }

    func report(_ key: String, _ message: String) {
        issues.append(ConfigIssue(file: file, key: key, message: message))
    }

    /// The config, or nil after a syntax error. Check `issues` either way.
    func parse(_ text: String) -> MailEdgeConfig? {
        let root: TOMLTable
        do {
            root = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            let at = error.source.begin
            report("(syntax)", "\(error.description) (line \(at.line), column \(at.column))")
            return nil
        } catch {
            report("(syntax)", "\(error)")
            return nil
        }

        rejectUnknownKeys(root, at: "", known: Self.topLevelTables, what: "table or key")
        let server = parseServer(root)
        let tls = parseTLS(root)
        let connectors = parseConnectors(root, server: server)
        let limits = parseLimits(root)
        let store = parseStore(root)
        let management = parseManagement(root)
        let domainSecurity = parseDomainSecurity(root)
        let certificateFiles = parseCertificateFiles(root)
        checkBindConflicts()

        return MailEdgeConfig(
            sourcePath: file, server: server, tls: tls, connectors: connectors, limits: limits,
            store: store, managementBind: management, domainSecurity: domainSecurity,
            certificateFiles: certificateFiles
        )
    }

    // MARK: [server]

    func parseServer(_ root: TOMLTable) -> ServerSettings {
        var server = ServerSettings.defaults(hostName: hostName)
        let table = table(root, "server", at: "server")
        let fromHost = "; it comes from the machine's host name \"\(hostName)\", set [server] name and fqdn"
        let name = table.flatMap { string($0, "name", at: "server.name") }
        let fqdn = table.flatMap { string($0, "fqdn", at: "server.fqdn") }
        if let problem = HostNameSyntax.problem(name ?? server.name) {
            report("server.name", "not a valid host name: \(problem)\(name == nil ? fromHost : "")")
        }
        if let problem = HostNameSyntax.problem(fqdn ?? server.fqdn) {
            report("server.fqdn", "not a valid host name: \(problem)\(fqdn == nil ? fromHost : "")")
        }
        server.name = name ?? server.name
        server.fqdn = fqdn ?? server.fqdn
        guard let table else { return server }

        rejectUnknownKeys(table, at: "server", known: ["name", "fqdn", "workers", "data_dir", "cert_store"])
        if let workers = int(table, "workers", at: "server.workers") {
            if workers < 0 || workers > 1024 {
                report("server.workers", "must be between 0 and 1024 (0 = one per core), got \(workers)")
            } else {
                server.workers = workers
            }
        }
        server.dataDir = nonEmptyString(table, "data_dir", at: "server.data_dir") ?? server.dataDir
        server.certStore = nonEmptyString(table, "cert_store", at: "server.cert_store") ?? server.certStore
        return server
    }

    func nonEmptyString(_ table: TOMLTable, _ key: String, at path: String) -> String? {
        guard let s = string(table, key, at: path) else { return nil }
        if s.isEmpty {
            report(path, "must not be empty")
            return nil
        }
        return s
    }

    // MARK: [tls]

    func parseTLS(_ root: TOMLTable) -> TLSSettings {
        var tls = TLSSettings()
        guard let table = table(root, "tls", at: "tls") else { return tls }
        rejectUnknownKeys(table, at: "tls", known: [
            "protocols", "ecc_certificate_support", "ciphers", "ciphersuites", "session_ticket_keys",
        ])

        if let entries = stringArray(table, "protocols", at: "tls.protocols") {
            var versions: [TLSProtocolVersion] = []
            for (index, text) in entries {
                if let version = Self.protocolVersion(text, at: "tls.protocols[\(index)]", parser: self) {
                    if !versions.contains(version) { versions.append(version) }
                }
            }
            if value(table, "protocols")?.array?.isEmpty == true {
                report("tls.protocols", "at least one protocol is required (TLSv1.2, TLSv1.3)")
            }
            if !versions.isEmpty { tls.protocols = versions.sorted() }
        }
        tls.eccCertificateSupport = bool(table, "ecc_certificate_support", at: "tls.ecc_certificate_support")
            ?? tls.eccCertificateSupport

        if let ciphers = string(table, "ciphers", at: "tls.ciphers"), !ciphers.isEmpty {
            for refused in CipherStringPolicy.refusedTokens(in: ciphers) {
                report("tls.ciphers", "\"\(refused.token)\" is refused: \(refused.reason); remove it or exclude it with \"!\(refused.token)\"")
            }
            if CipherStringPolicy.tokens(ciphers).isEmpty {
                report("tls.ciphers", "names no cipher; leave it out for the built-in policy")
            }
            tls.ciphers = ciphers
        }
        if let suites = string(table, "ciphersuites", at: "tls.ciphersuites"), !suites.isEmpty {
            for problem in CipherStringPolicy.tls13Problems(in: suites) {
                report("tls.ciphersuites", problem)
            }
            tls.ciphersuites = suites
        }
        tls.sessionTicketKeys = string(table, "session_ticket_keys", at: "tls.session_ticket_keys")
            ?? tls.sessionTicketKeys
        return tls
    }

    static func protocolVersion(_ text: String, at path: String, parser: ConfigParser) -> TLSProtocolVersion? {
        switch text.lowercased() {
        case "tlsv1.2": return .tls12
        case "tlsv1.3": return .tls13
        case "tlsv1", "tlsv1.0", "tlsv1.1", "sslv3", "sslv2":
            parser.report(path, "\"\(text)\": TLS 1.0 and 1.1 are refused (insecure); use TLSv1.2 or TLSv1.3")
        default:
            parser.report(path, "unknown protocol version \"\(text)\"; expected \"TLSv1.2\" or \"TLSv1.3\"")
        }
        return nil
    }

    // MARK: [limits]

    func parseLimits(_ root: TOMLTable) -> Limits {
        var limits = Limits()
        guard let table = table(root, "limits", at: "limits") else { return limits }
        rejectUnknownKeys(table, at: "limits", known: [
            "handshake_timeout", "idle_timeout", "max_line_length", "max_message_size",
            "max_connections_per_client", "max_recipients", "drain_timeout",
        ])
        func seconds(_ key: String) -> Double? {
            let path = "limits.\(key)"
            guard let value = number(table, key, at: path) else { return nil }
            guard value.isFinite, value > 0 else {
                report(path, "must be a positive number of seconds, got \(value)")
                return nil
            }
            return value
        }
        func count(_ key: String, minimum: Int = 1) -> Int? {
            let path = "limits.\(key)"
            guard let value = int(table, key, at: path) else { return nil }
            guard value >= minimum else {
                report(path, minimum == 1 ? "must be a positive integer, got \(value)" : "must be at least \(minimum), got \(value)")
                return nil
            }
            return value
        }
        limits.handshakeTimeout = seconds("handshake_timeout") ?? limits.handshakeTimeout
        limits.idleTimeout = seconds("idle_timeout") ?? limits.idleTimeout
        limits.maxLineLength = count("max_line_length", minimum: Limits.minimumLineLength) ?? limits.maxLineLength
        limits.maxMessageSize = count("max_message_size", minimum: Limits.minimumMessageSize) ?? limits.maxMessageSize
        limits.maxConnectionsPerClient = count("max_connections_per_client") ?? limits.maxConnectionsPerClient
        limits.maxRecipients = count("max_recipients") ?? limits.maxRecipients
        limits.drainTimeout = seconds("drain_timeout") ?? limits.drainTimeout
        return limits
    }

    // MARK: [store], [management], [domain_security]

    func parseStore(_ root: TOMLTable) -> StoreSettings {
        var store = StoreSettings()
        guard let table = table(root, "store", at: "store") else { return store }
        rejectUnknownKeys(table, at: "store", known: ["accepted_domains"])
        store.acceptedDomains = domainList(table, "accepted_domains", at: "store.accepted_domains") ?? []
        return store
    }

    func parseManagement(_ root: TOMLTable) -> [BindAddress] {
        let table = table(root, "management", at: "management")
        if let table {
            rejectUnknownKeys(table, at: "management", known: ["bind"])
        }
        guard let table, table.contains(key: "bind") else {
            for address in MailEdgeConfig.defaultManagementBind {
                claimedBinds.append((address, "management.bind", "the management endpoint (default)"))
            }
            return MailEdgeConfig.defaultManagementBind
        }
        return bindList(table, at: "management.bind", owner: "the management endpoint") ?? []
    }

    func parseDomainSecurity(_ root: TOMLTable) -> DomainSecuritySettings {
        var settings = DomainSecuritySettings()
        guard let table = table(root, "domain_security", at: "domain_security") else { return settings }
        rejectUnknownKeys(table, at: "domain_security", known: ["receive_domains", "trusted_roots", "crl_dir", "require_crl"])
        settings.receiveDomains = domainList(table, "receive_domains", at: "domain_security.receive_domains") ?? []
        settings.trustedRoots = nonEmptyString(table, "trusted_roots", at: "domain_security.trusted_roots")
            ?? settings.trustedRoots
        settings.crlDir = nonEmptyString(table, "crl_dir", at: "domain_security.crl_dir") ?? settings.crlDir
        settings.requireCRL = bool(table, "require_crl", at: "domain_security.require_crl") ?? settings.requireCRL
        return settings
    }

    // MARK: bind addresses

    /// Parses an array of bind strings, reporting each bad one at `path[i]`, and
    /// records the good ones for `checkBindConflicts`.
    func bindList(_ table: TOMLTable, at path: String, owner: String) -> [BindAddress]? {
        guard let key = path.split(separator: ".").last.map(String.init),
              let entries = stringArray(table, key, at: path) else { return nil }
        var result: [BindAddress] = []
        for (index, text) in entries {
            switch BindAddress.diagnose(text) {
            case .success(let address):
                result.append(address)
                claimedBinds.append((address, "\(path)[\(index)]", owner))
            case .failure(let problem):
                report("\(path)[\(index)]", problem.message)
            }
        }
        return result
    }

    /// Two listeners cannot share an address and port, nor can a wildcard and a
    /// specific address of the same family share a port. Reported at the later key.
    func checkBindConflicts() {
        for (later, claim) in claimedBinds.enumerated() {
            guard let earlier = claimedBinds[..<later].first(where: { $0.address.conflicts(with: claim.address) }) else {
                continue
            }
            if earlier.address == claim.address {
                report(claim.key, "\(claim.address) is already bound by \(earlier.key) (\(earlier.owner))")
            } else {
                report(claim.key, "\(claim.address) overlaps \(earlier.address) at \(earlier.key) (\(earlier.owner)): "
                    + "a wildcard and a specific address of the same family cannot share a port")
            }
        }
    }
}
