import Foundation
import TOMLKit

/// `[[connector]]` tables: one receive connector each, validated key by key and then
/// as a whole (TLS mode against require_tls, domain security against protocol).
extension ConfigParser {
    static let connectorKeys = [
        "name", "protocol", "bind", "tls", "require_tls", "fqdn", "certificate",
        "domain_secure", "proxy_protocol_in", "backend", "allow_plaintext_auth",
    ]

    func parseConnectors(_ root: TOMLTable, server: ServerSettings) -> [ConnectorConfig] {
        guard let value = value(root, "connector") else {
            report("connector", "at least one [[connector]] is required")
            return []
        }
        guard value.type == .array, let array = value.array else {
            wrongType("connector", expected: "an array of tables ([[connector]])", got: value)
            return []
        }
        if array.isEmpty {
            report("connector", "at least one [[connector]] is required")
        }
        var connectors: [ConnectorConfig] = []
        var names: [(name: String, key: String)] = []
        for index in 0..<array.count {
            let path = "connector[\(index)]"
            let element: TOMLValueConvertible = array[index]
            guard element.type == .table, let table = element.table else {
                wrongType(path, expected: "a table", got: element)
                continue
            }
            let connector = parseConnector(table, at: path, server: server)
            if let name = connector.name {
                if let clash = names.first(where: { $0.name.lowercased() == name.lowercased() }) {
                    report("\(path).name", "connector name \"\(name)\" is already used by \(clash.key)")
                } else {
                    names.append((name, path))
                }
            }
            if let config = connector.config { connectors.append(config) }
        }
        return connectors
    }

    /// The connector, or nil when a required key is missing or unusable (the issue
    /// is reported); `name` is returned separately for the uniqueness check.
    func parseConnector(_ table: TOMLTable, at path: String, server: ServerSettings) -> (name: String?, config: ConnectorConfig?) {
        rejectUnknownKeys(table, at: path, known: Self.connectorKeys)
        func key(_ k: String) -> String { Self.path(path, k) }
        func required(_ k: String) -> Bool {
            if table.contains(key: k) { return true }
            report(key(k), "required key is missing")
            return false
        }

        var name: String?
        if required("name"), let text = string(table, "name", at: key("name")) {
            if text.trimmingCharacters(in: .whitespaces).isEmpty {
                report(key("name"), "must not be empty")
            } else {
                name = text
            }
        }

        var proto: ServiceProtocol?
        if required("protocol"), let text = string(table, "protocol", at: key("protocol")) {
            if let p = ServiceProtocol(rawValue: text) {
                if p.isAvailable {
                    proto = p
                } else {
                    report(key("protocol"), "protocol \"\(text)\" is not available in this version yet")
                }
            } else {
                let valid = ServiceProtocol.allCases.map(\.rawValue).joined(separator: ", ")
                report(key("protocol"), "unknown protocol \"\(text)\"; expected one of \(valid)")
            }
        }

        var bind: [BindAddress]?
        if required("bind") {
            let owner = name.map { "connector \"\($0)\"" } ?? path
            bind = bindList(table, at: key("bind"), owner: owner)
            if let entries = value(table, "bind")?.array, entries.isEmpty {
                report(key("bind"), "must list at least one address, e.g. [\"127.0.0.1:25\"]")
            }
        }

        var tls = ConnectorTLS.starttls
        if let text = string(table, "tls", at: key("tls")) {
            if let mode = ConnectorTLS(rawValue: text) {
                tls = mode
            } else {
                let valid = ConnectorTLS.allCases.map(\.rawValue).joined(separator: ", ")
                report(key("tls"), "unknown TLS mode \"\(text)\"; expected one of \(valid)")
            }
        }

        // Submission requires TLS unless the connector has none at all.
        var requireTLS = proto == .submission && tls != .none
        if let explicit = bool(table, "require_tls", at: key("require_tls")) {
            requireTLS = explicit
            if explicit && tls == .none {
                report(key("require_tls"), "require_tls = true needs TLS, but this connector has tls = \"none\"")
            }
        }

        var fqdn = server.fqdn
        if let text = string(table, "fqdn", at: key("fqdn")) {
            if let problem = HostNameSyntax.problem(text) {
                report(key("fqdn"), "not a valid host name: \(problem)")
            } else {
                fqdn = text
            }
        }

        var certificate: String?
        if let text = string(table, "certificate", at: key("certificate")), !text.isEmpty {
            switch Self.certificatePin(text) {
            case .success(let pin): certificate = pin
            case .failure(let problem): report(key("certificate"), problem.message)
            }
        }

        let domainSecure = bool(table, "domain_secure", at: key("domain_secure")) ?? false
        if domainSecure {
            if let proto, proto != .smtp {
                report(key("domain_secure"), "domain security (mutual TLS) is only for smtp connectors; this one is \(proto.rawValue)")
            }
            if tls == .none {
                report(key("domain_secure"), "domain security (mutual TLS) needs TLS, but this connector has tls = \"none\"")
            }
        }

        let proxyProtocolIn = bool(table, "proxy_protocol_in", at: key("proxy_protocol_in")) ?? false
        if proxyProtocolIn {
            // Accepting PROXY headers from a load balancer arrives with the proxy
            // backend; refusing now beats silently treating them as SMTP input.
            report(key("proxy_protocol_in"), "PROXY protocol input is not available in this version yet")
        }

        var backend = Backend.store
        if let text = string(table, "backend", at: key("backend")) {
            if let parsed = Backend.parse(text) {
                backend = parsed
                if case .proxy = parsed {
                    report(key("backend"), "backend \"\(text)\": proxy backends are not available in this version yet")
                }
            } else {
                report(key("backend"), "\"\(text)\" is not a backend; expected \"store\" or \"proxy://host:port\"")
            }
        }

        let allowPlaintextAuth = bool(table, "allow_plaintext_auth", at: key("allow_plaintext_auth")) ?? false

        guard let name, let proto, let bind else { return (name, nil) }
        let config = ConnectorConfig(
            name: name, protocol: proto, bind: bind, tls: tls, requireTLS: requireTLS, fqdn: fqdn,
            certificate: certificate, domainSecure: domainSecure, proxyProtocolIn: proxyProtocolIn,
            backend: backend, allowPlaintextAuth: allowPlaintextAuth
        )
        return (name, config)
    }

    /// A pin is a thumbprint (8 to 64 hex digits, a unique prefix of the SHA-256
    /// thumbprint; lowercased) or a path to a PEM file read in place.
    static func certificatePin(_ text: String) -> Result<String, ValueProblem> {
        let isHex = text.unicodeScalars.allSatisfy { ("0"..."9").contains($0) || ("a"..."f").contains($0) || ("A"..."F").contains($0) }
        if isHex {
            guard (8...64).contains(text.count) else {
                return .failure(.init("thumbprint \"\(text)\" must have 8 to 64 hex digits, has \(text.count)"))
            }
            return .success(text.lowercased())
        }
        let lower = text.lowercased()
        if text.contains("/") || [".pem", ".crt", ".cer"].contains(where: lower.hasSuffix) {
            return .success(text)
        }
        return .failure(.init("\"\(text)\" is neither a certificate thumbprint (8 to 64 hex digits) nor a path to a PEM file"))
    }
}
