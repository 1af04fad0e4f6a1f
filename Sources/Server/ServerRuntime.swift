import Foundation
import Logging
import Config
import Certificates
import TLS

/// Everything the workers share, built and validated before any socket opens:
/// config, connectors with their TLS contexts, the store, the limiter, the work
/// pool. Immutable (the limiter and pool are thread-safe), hence Sendable.
public final class ServerRuntime: Sendable {
    public let config: MailEdgeConfig
    public let connectors: [ReceiveConnector]
    public let delivery: MailDelivery
    public let limiter: ConnectionLimiter
    public let logger: Logger
    /// Disk, fsync and KDF work: never on an event loop.
    let workPool = DispatchQueue(label: "mailedge.work", qos: .userInitiated, attributes: .concurrent)

    public init(config: MailEdgeConfig, logger: Logger) throws {
        self.config = config
        self.logger = logger
        let store = CertificateStore(directory: config.server.certStore)
        let created = try store.createDefaultsIfEmpty(serverName: config.server.name, serverFQDN: config.server.fqdn)
        for certificate in created {
            logger.notice("created default certificate", metadata: [
                "friendly_name": "\(certificate.metadata.friendlyName)",
                "thumbprint": "\(certificate.thumbprint.hex)",
                "subject": "\(certificate.leaf.subject)",
            ])
        }
        let (certificates, problems) = store.loadAll()
        for problem in problems {
            logger.error("certificate file not usable", metadata: ["path": "\(problem.path)", "reason": "\(problem.reason)"])
        }
        let policy = try Self.policy(from: config.tls)
        var connectors: [ReceiveConnector] = []
        // One SSL_CTX per distinct certificate, shared by the connectors using it.
        var contexts: [Thumbprint: ServerTLSContext] = [:]
        for (index, connector) in config.connectors.enumerated() {
            var context: ServerTLSContext?
            if connector.tls != .none {
                let certificate = try Self.certificate(for: connector, index: index, in: certificates)
                if let existing = contexts[certificate.thumbprint] {
                    context = existing
                } else {
                    do {
                        let made = try ServerTLSContext(policy: policy, certificate: certificate)
                        contexts[certificate.thumbprint] = made
                        context = made
                    } catch {
                        throw StartupError(message: "connector[\(index)] \"\(connector.name)\": \(error)")
                    }
                }
            }
            connectors.append(ReceiveConnector(config: connector, limits: config.limits, tls: context))
        }
        self.connectors = connectors
        delivery = MailDelivery(dataDirectory: config.server.dataDir, hostName: config.server.fqdn,
                                acceptedDomains: config.acceptedDomains)
        limiter = ConnectionLimiter(maximumPerClient: config.limits.maxConnectionsPerClient)
    }

    static func policy(from tls: TLSSettings) throws -> TLSPolicy {
        let versions = tls.protocols.map { $0 == .tls12 ? TLSPolicy.Version.tls12 : .tls13 }
        guard let low = versions.min(), let high = versions.max() else {
            throw StartupError(message: "tls.protocols: no protocol enabled")
        }
        return TLSPolicy(minimumVersion: low, maximumVersion: high, ciphers: tls.ciphers, ciphersuites: tls.ciphersuites)
    }

    /// Until the certificate resolver lands: the connector's pin if it has one,
    /// else the default "MailEdge" certificate.
    static func certificate(for connector: ConnectorConfig, index: Int, in certificates: [StoredCertificate]) throws -> StoredCertificate {
        let usable = certificates.filter { $0.key != nil }
        if let pin = connector.certificate?.lowercased(), !pin.isEmpty {
            let matches = usable.filter { $0.thumbprint.hex.hasPrefix(pin) }
            guard matches.count == 1 else {
                throw StartupError(message: "connector[\(index)].certificate: \(matches.isEmpty ? "no certificate with a private key has thumbprint" : "more than one certificate matches") \"\(pin)\"")
            }
            return matches[0]
        }
        if let named = usable.first(where: { $0.metadata.friendlyName == DefaultCertificate.mailEdge.friendlyName }) {
            return named
        }
        if let smtp = usable.first(where: { $0.metadata.services.contains(.smtp) }) { return smtp }
        throw StartupError(message: "connector[\(index)] \"\(connector.name)\": no certificate with a private key in the store for TLS")
    }
}

public struct StartupError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
