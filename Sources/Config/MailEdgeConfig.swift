import Foundation

/// The whole, validated configuration: one immutable snapshot. Built once at start-up
/// and at each reload (off the event loops), then published by one atomic swap; a
/// value type of Sendable values, so any thread may read it.
public struct MailEdgeConfig: Sendable, Equatable {
    /// The file it came from; nil for the embedded default.
    public var sourcePath: String?
    public var server: ServerSettings
    public var tls: TLSSettings
    /// At least one; names and bind addresses unique.
    public var connectors: [ConnectorConfig]
    public var limits: Limits
    public var store: StoreSettings
    /// `[management] bind`: HTTPS status and /metrics (not served yet); [] turns it off.
    public var managementBind: [BindAddress]
    public var domainSecurity: DomainSecuritySettings
    /// `[[certificate]]`: certificates read in place from operator-managed files.
    public var certificateFiles: [CertificateFileConfig]

    public init(
        sourcePath: String? = nil,
        server: ServerSettings,
        tls: TLSSettings = TLSSettings(),
        connectors: [ConnectorConfig],
        limits: Limits = Limits(),
        store: StoreSettings = StoreSettings(),
        managementBind: [BindAddress] = MailEdgeConfig.defaultManagementBind,
        domainSecurity: DomainSecuritySettings = DomainSecuritySettings(),
        certificateFiles: [CertificateFileConfig] = []
    ) {
        self.sourcePath = sourcePath
        self.server = server
        self.tls = tls
        self.connectors = connectors
        self.limits = limits
        self.store = store
        self.managementBind = managementBind
        self.domainSecurity = domainSecurity
        self.certificateFiles = certificateFiles
    }

    /// Domains whose recipients are local: server.fqdn, "localhost" and
    /// store.acceptedDomains; lowercased, without duplicates, in that order.
    public var acceptedDomains: [String] {
        var seen = Set<String>()
        var result: [String] = []
        for domain in [server.fqdn, "localhost"] + store.acceptedDomains {
            let lower = domain.lowercased()
            if seen.insert(lower).inserted { result.append(lower) }
        }
        return result
    }

    public static let defaultManagementBind: [BindAddress] = [
        BindAddress(host: "127.0.0.1", port: 2443)!,
    ]

    /// What `mailedge serve` runs without a config file (DESIGN.md, "The embedded
    /// default"): SMTP, submission, IMAP and POP3 on loopback (the management
    /// endpoint comes later).
    /// `sampleTOML` spells out the same configuration.
    public static func embeddedDefault(hostName: String) -> MailEdgeConfig {
        let server = ServerSettings.defaults(hostName: hostName)
        func loopback(_ port: UInt16) -> [BindAddress] { [BindAddress(host: "127.0.0.1", port: port)!] }
        return MailEdgeConfig(
            sourcePath: nil,
            server: server,
            connectors: [
                ConnectorConfig(name: "Default Frontend", protocol: .smtp, bind: loopback(2525),
                                tls: .starttls, requireTLS: false, fqdn: server.fqdn),
                ConnectorConfig(name: "Client Frontend", protocol: .submission, bind: loopback(2587),
                                tls: .starttls, requireTLS: true, fqdn: server.fqdn),
                ConnectorConfig(name: "Client Frontend SMTPS", protocol: .submission, bind: loopback(2465),
                                tls: .implicit, requireTLS: true, fqdn: server.fqdn),
                ConnectorConfig(name: "IMAP", protocol: .imap, bind: loopback(2143),
                                tls: .starttls, requireTLS: false, fqdn: server.fqdn),
                ConnectorConfig(name: "IMAPS", protocol: .imap, bind: loopback(2993),
                                tls: .implicit, requireTLS: false, fqdn: server.fqdn),
                ConnectorConfig(name: "POP3", protocol: .pop3, bind: loopback(2110),
                                tls: .starttls, requireTLS: false, fqdn: server.fqdn),
                ConnectorConfig(name: "POP3S", protocol: .pop3, bind: loopback(2995),
                                tls: .implicit, requireTLS: false, fqdn: server.fqdn),
            ]
        )
    }

    /// Reads and validates `path`. Any problem, unreadable file included, throws one
    /// ConfigError listing every issue.
    public static func load(path: String, hostName: String) throws(ConfigError) -> MailEdgeConfig {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ConfigError(issues: [ConfigIssue(file: path, key: "(file)", message: "no such file")])
        }
        guard !isDirectory.boolValue else {
            throw ConfigError(issues: [ConfigIssue(file: path, key: "(file)", message: "is a directory, not a config file")])
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigError(issues: [ConfigIssue(file: path, key: "(file)", message: "cannot be read (permission denied?)")])
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigError(issues: [ConfigIssue(file: path, key: "(file)", message: "is not valid UTF-8")])
        }
        return try parse(text, path: path, hostName: hostName)
    }

    /// Validates TOML text; `path` names the source in every issue and becomes
    /// `sourcePath`. Keys left out take the embedded default's values.
    public static func parse(_ text: String, path: String, hostName: String) throws(ConfigError) -> MailEdgeConfig {
        let parser = ConfigParser(file: path, hostName: hostName)
        let config = parser.parse(text)
        guard let config, parser.issues.isEmpty else {
            throw ConfigError(issues: parser.issues)
        }
        return config
    }
}
