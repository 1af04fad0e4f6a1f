import Foundation
import Config
import Certificates

/// `mailedge check`: config and certificate health, as DESIGN.md's Operation
/// section lists it. Pure over a loaded config and inventory.
public struct HealthCheck: Sendable {
    public enum Severity: String, Codable, Sendable, Comparable {
        case warning, error
        public static func < (a: Severity, b: Severity) -> Bool { a == .warning && b == .error }
    }

    public struct Finding: Codable, Sendable, Equatable {
        public var severity: Severity
        /// What it is about: "connector[0] Default Frontend", a thumbprint, a file.
        public var subject: String
        public var message: String

        public init(severity: Severity, subject: String, message: String) {
            self.severity = severity
            self.subject = subject
            self.message = message
        }
    }

    public var findings: [Finding] = []

    public var errors: [Finding] { findings.filter { $0.severity == .error } }
    public var warnings: [Finding] { findings.filter { $0.severity == .warning } }

    public static let expiryWarningDays = 30.0

    public init(config: MailEdgeConfig, inventory: CertificateInventory, now: Date = Date()) {
        for problem in inventory.problems {
            add(.error, problem.path, problem.reason)
        }
        let resolver = CertificateResolver(records: inventory.records)
        let defaults = [config.server.name, config.server.fqdn]

        // Every connector's names covered by an enabled, valid certificate.
        for (index, connector) in config.connectors.enumerated() where connector.tls != .none {
            let label = "connector[\(index)] \(connector.name)"
            let service = connector.protocol.certificateService
            let request = CertificateResolver.Request(
                service: service, serverName: nil, connectorFQDN: connector.fqdn,
                pins: connector.certificate.map { [$0] } ?? [], eccEnabled: false,
                defaultNames: defaults, now: now)
            guard let decision = resolver.resolve(request) else {
                add(.error, label, "no certificate with a private key is enabled for \(service.rawValue): TLS cannot start")
                continue
            }
            let record = decision.record
            if decision.servedExpired {
                add(.error, label, "only an expired certificate is available (\(record.thumbprint.hex.prefix(16)), expired \(CertificateProperties.format(record.leaf.notAfter)))")
            }
            if CertificateNameMatcher.match(connector.fqdn, against: record.leaf.certificateDomains) == nil {
                add(.error, label, "fqdn \(connector.fqdn) is not covered by any enabled valid certificate for \(service.rawValue); it gets \(record.leaf.subject) (\(record.thumbprint.hex.prefix(16))), which names \(record.leaf.certificateDomains.joined(separator: ", "))")
            }
            if record.status == .untrusted && !record.leaf.isSelfSigned {
                add(.error, label, "certificate \(record.thumbprint.hex.prefix(16)) does not chain to a trusted root: \(record.validation.reason ?? "untrusted") (missing intermediate certificates?)")
            }
            if connector.protocol.isClientFacing && record.leaf.isSelfSigned {
                add(.warning, label, "client-facing connector presents a self-signed certificate (\(record.leaf.subject)); mail clients will warn or refuse")
            }
            if let pin = connector.certificate, !inventory.records.contains(where: { CertificateResolver.pinMatches(pin, $0) }) {
                add(.error, "\(label).certificate", "no certificate in the inventory matches the pin \"\(pin)\"")
            }
        }

        for record in inventory.records {
            let id = "\(record.thumbprint.hex.prefix(16)) \(record.leaf.subject)"
            let enabled = !record.services.isEmpty
            switch record.status {
            case .expired:
                add(enabled ? .error : .warning, id, "expired on \(CertificateProperties.format(record.leaf.notAfter))")
            case .notYetValid:
                add(.warning, id, "not valid before \(CertificateProperties.format(record.leaf.notBefore))")
            case .revoked:
                add(.error, id, "revoked by its CA (\(record.validation.reason ?? "CRL"))")
            case .untrusted where !record.leaf.isSelfSigned:
                add(enabled ? .error : .warning, id, "chain does not reach a trusted root: \(record.validation.reason ?? "unknown issuer")")
            default:
                break
            }
            let daysLeft = record.leaf.notAfter.timeIntervalSince(now) / 86_400
            if record.status == .valid && daysLeft < Self.expiryWarningDays {
                add(.warning, id, "expires in \(Int(daysLeft.rounded(.down))) days, on \(CertificateProperties.format(record.leaf.notAfter))")
            }
            for name in record.leaf.certificateDomains {
                if let problem = CertificateNameMatcher.wildcardProblem(name) { add(.error, id, "wildcard misuse: \(problem)") }
            }
            if record.isECC && !config.tls.eccCertificateSupport && enabled {
                add(.warning, id, "ECC certificate enabled for \(record.services.map(\.rawValue).joined(separator: ", ")) is never presented while tls.ecc_certificate_support is off")
            }
            if record.leaf.publicKeyAlgorithm == "RSA" && record.leaf.publicKeySize < 2048 {
                add(.error, id, "RSA key of \(record.leaf.publicKeySize) bits; at least 2048 are required")
            }
            for certificate in record.certificate.chain where certificate.signatureAlgorithm.lowercased().contains("sha1") {
                let which = certificate === record.leaf ? "certificate" : "chain certificate \(certificate.subject)"
                add(.error, id, "\(which) is signed with SHA-1 (\(certificate.signatureAlgorithm))")
            }
            if !record.hasPrivateKey && enabled {
                add(.error, id, "enabled for \(record.services.map(\.rawValue).joined(separator: ", ")) but has no private key")
            }
            if !record.leaf.isSelfSigned && record.certificate.chain.count == 1 && record.status == .untrusted {
                add(.error, id, "missing chain: the file holds only the leaf certificate; add the CA's intermediate certificates")
            }
        }
    }

    private mutating func add(_ severity: Severity, _ subject: String, _ message: String) {
        let finding = Finding(severity: severity, subject: subject, message: message)
        if !findings.contains(finding) { findings.append(finding) }
    }
}
