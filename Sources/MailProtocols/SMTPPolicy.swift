import Foundation

/// The per-connector rules an `SMTPSession` enforces: identity, role, TLS requirements
/// and every limit. Built from the config snapshot by the server layer; immutable for
/// the life of a session, so a reload never changes a live connection.
public struct SMTPPolicy: Sendable {
    /// Banner and EHLO name.
    public var fqdn: String { didSet { render() } }
    public var role: SMTPRole
    public var tlsMode: SMTPTLSMode
    /// MAIL and AUTH before TLS get `530 5.7.0`.
    public var requireTLS: Bool
    /// Offer and accept AUTH before TLS (off by default: no cleartext passwords).
    public var allowPlaintextAuth: Bool
    /// Largest message body in bytes (after dot-unstuffing), advertised as SIZE.
    public var maxMessageSize: Int { didSet { render() } }
    /// Longest command line in bytes, line end included.
    public var maxLineLength: Int
    /// Most distinct recipients per transaction.
    public var maxRecipients: Int
    /// Protocol errors before the session answers 421 and closes.
    public var maxErrors: Int

    /// Longest AUTH command or SASL response line, line end included. SASL responses
    /// (base64 of a long password or token) can legitimately exceed `maxLineLength`;
    /// the effective limit is never below `maxLineLength`.
    public var maxAuthLineLength: Int = 12_288
    /// Most unprocessed bytes held while the session waits for an asynchronous result
    /// (pipelined commands). A client that sends more is disconnected with 421.
    public var maxPipelinedInput: Int = 262_144
    /// False when the connector is configured for STARTTLS but TLS cannot be started
    /// (no usable certificate): STARTTLS is then not advertised and answers
    /// `454 4.7.0 TLS not available due to local problem`.
    public var tlsAvailable: Bool = true
    /// Secure domains and whether this connector asks for client certificates.
    public var domainSecurity = DomainSecurityPolicy()

    public init(fqdn: String, role: SMTPRole, tlsMode: SMTPTLSMode, requireTLS: Bool = false,
                allowPlaintextAuth: Bool = false, maxMessageSize: Int = 36_700_160,
                maxLineLength: Int = 2048, maxRecipients: Int = 100, maxErrors: Int = 10) {
        self.fqdn = fqdn
        self.role = role
        self.tlsMode = tlsMode
        self.requireTLS = requireTLS
        self.allowPlaintextAuth = allowPlaintextAuth
        self.maxMessageSize = maxMessageSize
        self.maxLineLength = maxLineLength
        self.maxRecipients = maxRecipients
        self.maxErrors = maxErrors
        render()
    }

    /// The fixed parts of the greeting and the EHLO reply, rendered with the policy (a
    /// connector's: once) and again when a field they show changes, not per connection.
    /// `220 <fqdn> ESMTP MailEdge`, CRLF included.
    private(set) var greeting = ""
    /// `250-<fqdn> Hello ` (the client's name and address follow).
    private(set) var ehloPrefix = ""
    /// The EHLO reply after the client's `[address]` line end, by what is offered:
    /// index 2 x STARTTLS + AUTH.
    private(set) var ehloTails: [String] = []

    private mutating func render() {
        greeting = "220 \(fqdn) ESMTP MailEdge\r\n"
        ehloPrefix = "250-\(fqdn) Hello "
        let common = "250-PIPELINING\r\n250-SIZE \(messageSizeLimit)\r\n250-8BITMIME\r\n"
        ehloTails = [common + "250 ENHANCEDSTATUSCODES\r\n",
                     common + "250-ENHANCEDSTATUSCODES\r\n250 AUTH PLAIN LOGIN\r\n",
                     common + "250-ENHANCEDSTATUSCODES\r\n250 STARTTLS\r\n",
                     common + "250-ENHANCEDSTATUSCODES\r\n250-STARTTLS\r\n250 AUTH PLAIN LOGIN\r\n"]
    }

    /// Line limits clamped to something workable, so a zero or negative config value
    /// cannot make every command "too long".
    var commandLineLimit: Int { max(maxLineLength, 16) }
    var authLineLimit: Int { max(maxAuthLineLength, commandLineLimit) }
    var errorLimit: Int { max(maxErrors, 1) }
    var messageSizeLimit: Int { max(maxMessageSize, 0) }
    var pipelineLimit: Int { max(maxPipelinedInput, authLineLimit) }
}
