import Foundation

/// What a receive connector accepts: mail from other MTAs (`smtp`, port 25) or mail
/// from users' clients (`submission`, ports 587/465, AUTH required).
public enum SMTPRole: String, Sendable {
    /// The "smtp" connector: inbound MTA mail, no AUTH offered.
    case inbound = "smtp"
    case submission
}

/// How a connector does TLS: not at all, upgraded by STARTTLS, or from the first byte.
public enum SMTPTLSMode: String, Sendable {
    case none, starttls, implicit
}

/// The negotiated TLS parameters, as the server layer reports them after a handshake.
/// They end up in the Received header and in the envelope.
public struct TLSFacts: Sendable, Equatable {
    /// Protocol name as OpenSSL spells it, e.g. "TLSv1.2".
    public var version: String
    /// Cipher suite name, e.g. "ECDHE-RSA-AES256-GCM-SHA384".
    public var cipher: String
    /// The client's certificate, when it sent one (domain security connectors ask).
    public var clientCertificate: ClientCertificateFacts?

    public init(version: String, cipher: String, clientCertificate: ClientCertificateFacts? = nil) {
        self.version = version
        self.cipher = cipher
        self.clientCertificate = clientCertificate
    }
}

/// One accepted message with everything the delivery backend needs to know about it.
/// Built by `SMTPSession` at end of DATA and handed out in `SMTPAction.deliver`.
public struct SMTPEnvelope: Sendable, Equatable {
    public var heloName: String
    public var clientAddress: String
    /// The reverse-path; "" for the null reverse-path `<>`.
    public var mailFrom: String
    /// Forward-paths in RCPT order, duplicates removed (case-insensitively).
    public var recipients: [String]
    public var authenticatedUser: String?
    public var tls: TLSFacts?
    /// Set when the sender's domain is a secure domain and mutual TLS proved it.
    public var partnerDomain: String? = nil
    /// The Received header followed by the message exactly as received after
    /// dot-unstuffing, with CRLF line ends.
    public var message: [UInt8]

    public init(heloName: String, clientAddress: String, mailFrom: String, recipients: [String],
                authenticatedUser: String?, tls: TLSFacts?, message: [UInt8]) {
        self.heloName = heloName
        self.clientAddress = clientAddress
        self.mailFrom = mailFrom
        self.recipients = recipients
        self.authenticatedUser = authenticatedUser
        self.tls = tls
        self.message = message
    }
}

/// The backend's answer to `SMTPAction.verifyRecipient`.
public enum RecipientVerdict: Sendable, Equatable {
    /// A mailbox this server delivers to.
    case local
    /// A remote recipient the client may relay to (authenticated submission).
    case relay
    case unknownUser
    case relayDenied
    case temporaryFailure
}

/// The backend's answer to `SMTPAction.deliver`.
public enum DeliveryResult: Sendable, Equatable {
    case queued(id: String)
    case temporaryFailure(String)
    case permanentFailure(String)
}

/// What the connection has to do on behalf of the session. Actions are executed in
/// array order.
public enum SMTPAction: Sendable, Equatable {
    /// Complete reply line(s), each ending in CRLF.
    case send(String)
    /// Flush prior sends, drop all buffered input, then run the TLS handshake and call
    /// `SMTPSession.tlsEstablished(_:)`.
    case startTLS
    /// Check the credentials, then call `SMTPSession.authenticationCompleted(success:)`.
    /// The only place a password ever appears.
    case authenticate(username: String, password: String)
    /// Look the recipient up, then call `SMTPSession.recipientVerified(_:)`.
    case verifyRecipient(address: String, authenticated: Bool)
    /// Store or relay the message, then call `SMTPSession.deliveryCompleted(_:)`.
    case deliver(SMTPEnvelope)
    /// Close the connection after flushing prior sends.
    case close
    /// A limit was hit (the reply is already in the outbox); the connection logs it.
    case limitReached(SMTPLimit)
    /// A domain security decision at MAIL FROM, for the log (refusals carry the reason).
    case domainSecurity(DomainSecurityPolicy.Verdict)
}

/// The session limits whose breach the operator should see in the log.
public enum SMTPLimit: Sendable, Equatable, CustomStringConvertible {
    case lineTooLong(limit: Int)
    case messageTooLarge(limit: Int)
    case tooManyRecipients(limit: Int)
    case tooManyErrors(limit: Int)
    case pipelinedInputTooLarge(limit: Int)

    public var description: String {
        switch self {
        case .lineTooLong(let limit): return "line longer than \(limit) bytes"
        case .messageTooLarge(let limit): return "message larger than \(limit) bytes"
        case .tooManyRecipients(let limit): return "more than \(limit) recipients"
        case .tooManyErrors(let limit): return "\(limit) errors"
        case .pipelinedInputTooLarge(let limit): return "more than \(limit) bytes of pipelined input"
        }
    }
}
