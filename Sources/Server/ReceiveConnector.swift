import Config
import MailProtocols
import TLS

/// One configured receive connector, ready to serve: its settings, the SMTP policy
/// derived from them and its TLS context. Immutable and shared by all workers.
public struct ReceiveConnector: Sendable {
    public let config: ConnectorConfig
    public private(set) var policy: SMTPPolicy
    public let tls: ServerTLSContext?
    public let limits: Limits

    public init(config: ConnectorConfig, limits: Limits, tls: ServerTLSContext?, secureDomains: [String] = []) {
        self.config = config
        self.limits = limits
        self.tls = tls
        let mode: SMTPTLSMode
        switch config.tls {
        case .none: mode = .none
        case .starttls: mode = .starttls
        case .implicit: mode = .implicit
        }
        policy = SMTPPolicy(fqdn: config.fqdn,
                            role: config.protocol == .submission ? .submission : .inbound,
                            tlsMode: tls == nil ? .none : mode,
                            requireTLS: config.requireTLS,
                            allowPlaintextAuth: config.allowPlaintextAuth,
                            maxMessageSize: limits.maxMessageSize,
                            maxLineLength: limits.maxLineLength,
                            maxRecipients: limits.maxRecipients)
        policy.domainSecurity = DomainSecurityPolicy(secureDomains: secureDomains, connectorEnabled: config.domainSecure)
    }

    public var name: String { config.name }
    /// The connector's TLS mode in the protocols' vocabulary (none without a context).
    var smtpTLSMode: SMTPTLSMode { policy.tlsMode }
    public var isImplicitTLS: Bool { config.tls == .implicit }
}
