import Config
import Certificates

/// The host names a certificate for this configuration must carry, each with the
/// reason it is there (the EAC wizard's logic): every connector's fqdn, plus
/// `autodiscover.<domain>` for each accepted domain when clients connect
/// (submission, imap, pop3). Pure.
public struct CertificateNamePlan: Sendable {
    public struct Name: Sendable, Equatable {
        public var name: String
        public var reasons: [String]
    }

    public var names: [Name]
    public var warnings: [String]

    public init(config: MailEdgeConfig) {
        var names: [Name] = []
        func add(_ name: String, _ reason: String) {
            let lower = name.lowercased()
            if let index = names.firstIndex(where: { $0.name == lower }) {
                if !names[index].reasons.contains(reason) { names[index].reasons.append(reason) }
            } else {
                names.append(Name(name: lower, reasons: [reason]))
            }
        }
        for connector in config.connectors {
            add(connector.fqdn, "fqdn of connector \"\(connector.name)\" (\(connector.protocol.rawValue), \(connector.bind.map(\.description).joined(separator: ", ")))")
        }
        let clientProtocols: Set<ServiceProtocol> = [.submission, .imap, .pop3]
        let clientConnectors = config.connectors.filter { clientProtocols.contains($0.protocol) }
        if !clientConnectors.isEmpty {
            for domain in config.store.acceptedDomains {
                add("autodiscover.\(domain)", "mail clients of accepted domain \(domain) look up their settings at autodiscover.\(domain) (client connectors: \(clientConnectors.map(\.name).joined(separator: ", ")))")
            }
        }
        self.names = names
        warnings = Self.wildcardWarnings(names.map(\.name))
    }

    /// A single wildcard covers one label: names at two depths under one domain
    /// would need two wildcards (or SAN entries for each name).
    static func wildcardWarnings(_ names: [String]) -> [String] {
        var warnings: [String] = []
        for a in names {
            for b in names where a < b {
                let la = a.split(separator: "."), lb = b.split(separator: ".")
                guard la.count != lb.count, la.count >= 3 || lb.count >= 3 else { continue }
                let (short, long) = la.count < lb.count ? (la, lb) : (lb, la)
                let parent = short.dropFirst().joined(separator: ".")
                if long.joined(separator: ".").hasSuffix("." + parent) {
                    warnings.append("\(short.joined(separator: ".")) and \(long.joined(separator: ".")) sit at different levels under \(parent): a wildcard certificate would be needed at two levels (*.\(parent) does not cover \(long.joined(separator: "."))); list both names in the SAN instead")
                }
            }
        }
        return warnings
    }
}

extension ServiceProtocol {
    /// The certificate service a connector of this protocol presents certificates for.
    public var certificateService: CertificateService {
        switch self {
        case .smtp, .submission: return .smtp
        case .imap: return .imap
        case .pop3: return .pop
        }
    }

    /// Mail clients (not MTAs) connect to it: self-signed certificates are a problem there.
    public var isClientFacing: Bool { self != .smtp }
}
