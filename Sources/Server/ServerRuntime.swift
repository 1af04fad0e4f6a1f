import Foundation
import Logging
import Config
import Certificates
import TLS
import MailStore
import MailProtocols

/// Everything the workers share, built and validated before any socket opens:
/// config, connectors with their TLS contexts, the store, the limiter, the work
/// pool. Immutable (the limiter and pool are thread-safe), hence Sendable.
public final class ServerRuntime: Sendable {
    public let config: MailEdgeConfig
    public let connectors: [ReceiveConnector]
    public let delivery: MailDelivery
    public let limiter: ConnectionLimiter
    let mailboxStore: MailboxStore
    /// Partner certificate checks for `domain_secure` connectors (nil when none).
    public let clientCertificates: ClientCertificateVerifier?
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
        let inventory = config.loadCertificateInventory()
        for problem in inventory.problems {
            logger.error("certificate file not usable", metadata: ["path": "\(problem.path)", "reason": "\(problem.reason)"])
        }
        let policy = try Self.policy(from: config.tls)
        let resolver = CertificateResolver(records: inventory.records)
        let tickets: TicketKeyRing
        do {
            tickets = config.tls.sessionTicketKeys.isEmpty ? TicketKeyRing() : try TicketKeyRing(file: config.tls.sessionTicketKeys)
        } catch {
            throw StartupError(message: "\(error)")
        }
        logger.info("session tickets", metadata: ["keys": "\(tickets.source)"])
        var connectors: [ReceiveConnector] = []
        for (index, connector) in config.connectors.enumerated() {
            var context: ServerTLSContext?
            if connector.tls != .none {
                // The connector's decisions are computed now; each handshake then looks
                // up its SNI and the client's ECDSA support in the ClientHello callback.
                let template = CertificateResolver.Request(
                    service: connector.protocol.certificateService, serverName: nil, connectorFQDN: connector.fqdn,
                    pins: connector.certificate.map { [$0] } ?? [], eccEnabled: config.tls.eccCertificateSupport,
                    defaultNames: [config.server.name, config.server.fqdn])
                // An ECC-only connector (a pin on one ECDSA certificate) is allowed: its
                // RSA-only clients will fail their handshakes, which check reports.
                guard let selector = CertificateSelector(resolver: resolver, template: template),
                      let initial = selector.select(serverName: nil, clientOffersECDSA: false)
                        ?? selector.select(serverName: nil, clientOffersECDSA: true) else {
                    throw StartupError(message: "connector[\(index)] \"\(connector.name)\": no certificate with a private key is enabled for \(template.service.rawValue)")
                }
                let certificate = selector.certificates[initial.choice.index]
                logger.log(level: initial.choice.servedExpired ? .error : .info, "certificate without SNI", metadata: [
                    "connector": "\(connector.name)", "thumbprint": "\(certificate.thumbprint.hex)",
                    "subject": "\(certificate.leaf.subject)", "reason": "\(initial.choice.reason)",
                    "candidates": "\(selector.certificates.count)",
                ])
                do {
                    context = try ServerTLSContext(policy: policy, certificate: certificate, selector: selector, tickets: tickets,
                                                   requestClientCertificate: connector.domainSecure)
                } catch {
                    throw StartupError(message: "connector[\(index)] \"\(connector.name)\": \(error)")
                }
            }
            connectors.append(ReceiveConnector(config: connector, limits: config.limits, tls: context,
                                               secureDomains: config.domainSecurity.receiveDomains))
        }
        self.connectors = connectors
        if config.connectors.contains(where: \.domainSecure) {
            let settings = config.domainSecurity
            do {
                let verifier = try ClientCertificateVerifier(trust: TrustSettings(
                    useSystemRoots: false, trustedDirectory: settings.trustedRoots,
                    crlDirectory: settings.crlDir, requireCRL: settings.requireCRL))
                for problem in verifier.problems {
                    logger.error("domain security trust file not usable", metadata: ["path": "\(problem.path)", "reason": "\(problem.reason)"])
                }
                clientCertificates = verifier
            } catch {
                throw StartupError(message: "domain_security.trusted_roots: \(error)")
            }
        } else {
            clientCertificates = nil
        }
        delivery = MailDelivery(dataDirectory: config.server.dataDir, hostName: config.server.fqdn,
                                acceptedDomains: config.acceptedDomains)
        limiter = ConnectionLimiter(maximumPerClient: config.limits.maxConnectionsPerClient)
        mailboxStore = MailboxStore(root: "\(config.server.dataDir)/mail", hostName: config.server.fqdn)
    }

    /// The protocol session for a new connection on `connector`.
    func makeSession(for connector: ReceiveConnector, client: String, id: UInt64, logger: Logger) -> any SessionAdapter {
        switch connector.config.protocol {
        case .smtp, .submission:
            return SMTPSessionAdapter(connector: connector, client: client, id: id, delivery: delivery, logger: logger)
        case .imap:
            return MailboxSessionAdapter<IMAPSession>(connector: connector, client: client, access: mailboxes)
        case .pop3:
            return MailboxSessionAdapter<POP3Session>(connector: connector, client: client, access: mailboxes)
        }
    }

    /// IMAP and POP3's view of the store.
    var mailboxes: MailboxAccess {
        MailboxAccess(users: delivery.users, store: mailboxStore, recipients: delivery.recipients)
    }

    static func policy(from tls: TLSSettings) throws -> TLSPolicy {
        let versions = tls.protocols.map { $0 == .tls12 ? TLSPolicy.Version.tls12 : .tls13 }
        guard let low = versions.min(), let high = versions.max() else {
            throw StartupError(message: "tls.protocols: no protocol enabled")
        }
        return TLSPolicy(minimumVersion: low, maximumVersion: high, ciphers: tls.ciphers, ciphersuites: tls.ciphersuites)
    }

}

public struct StartupError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
