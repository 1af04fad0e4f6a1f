import Config
import MailProtocols
import TLS

/// One configured receive connector, ready to serve: its settings, the SMTP policy
/// derived from them and its TLS context. Immutable and shared by all workers; a
/// class, so a connection holds a reference, not a copy (the struct's copy took a
/// retain per string and array in it, on every accept).
public final class ReceiveConnector: Sendable {
    public let config: ConnectorConfig
    public let policy: SMTPPolicy
    /// The IMAP and POP3 policies, made once here (greetings rendered) and copied
    /// into each session.
    let imapPolicy: IMAPPolicy
    let pop3Policy: POP3Policy
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
        var policy = SMTPPolicy(fqdn: config.fqdn,
                            role: config.protocol == .submission ? .submission : .inbound,
                            tlsMode: tls == nil ? .none : mode,
                            requireTLS: config.requireTLS,
                            allowPlaintextAuth: config.allowPlaintextAuth,
                            maxMessageSize: limits.maxMessageSize,
                            maxLineLength: limits.maxLineLength,
                            maxRecipients: limits.maxRecipients)
        policy.domainSecurity = DomainSecurityPolicy(secureDomains: secureDomains, connectorEnabled: config.domainSecure)
        self.policy = policy
        imapPolicy = IMAPPolicy(serverName: config.fqdn, tlsMode: policy.tlsMode,
                                allowPlaintextAuth: config.allowPlaintextAuth, maxLiteralSize: limits.maxMessageSize)
        pop3Policy = POP3Policy(serverName: config.fqdn, tlsMode: policy.tlsMode,
                                allowPlaintextAuth: config.allowPlaintextAuth)
    }

    public var name: String { config.name }
    public var isImplicitTLS: Bool { config.tls == .implicit }
}
