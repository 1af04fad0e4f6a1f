import Foundation

/// The per-connector rules a `POP3Session` enforces: identity, TLS requirements and
/// every limit. Built from the config snapshot by the server layer; immutable for the
/// life of a session, so a reload never changes a live connection.
public struct POP3Policy: Sendable {
    /// Named in the greeting.
    public var serverName: String { didSet { greeting = Self.greeting(serverName) } }
    public var tlsMode: SMTPTLSMode
    /// Offer and accept USER/PASS and AUTH before TLS (off by default: no cleartext
    /// passwords).
    public var allowPlaintextAuth: Bool
    /// Longest command line in bytes, CRLF included (RFC 2449: 255 octets of command
    /// plus arguments; 512 leaves room for long user names).
    public var maxLineLength: Int
    /// Rejected commands (unknown, bad syntax, wrong state, failed logins) before the
    /// session says `-ERR` and closes.
    public var maxBadCommands: Int

    /// Longest AUTH command or SASL response line (RFC 5034 allows 255 octets of
    /// initial response; base64 of a long password needs more).
    public var maxAuthLineLength: Int = 1024
    /// Most unprocessed bytes held while the session waits for an asynchronous result
    /// (pipelined commands). A client that sends more is disconnected.
    public var maxPipelinedInput: Int = 65_536
    /// False when the connector is configured for STLS but TLS cannot be started (no
    /// usable certificate): STLS is then not advertised and refused.
    public var tlsAvailable: Bool = true

    public init(serverName: String, tlsMode: SMTPTLSMode, allowPlaintextAuth: Bool = false,
                maxLineLength: Int = 512, maxBadCommands: Int = 10) {
        self.serverName = serverName
        self.tlsMode = tlsMode
        self.allowPlaintextAuth = allowPlaintextAuth
        self.maxLineLength = maxLineLength
        self.maxBadCommands = maxBadCommands
        greeting = Self.greeting(serverName)
    }

    /// `+OK <name> MailEdge POP3 ready`, CRLF included: rendered with the policy (a
    /// connector's: once), not per connection.
    private(set) var greeting: [UInt8] = []

    private static func greeting(_ serverName: String) -> [UInt8] {
        Array("+OK \(serverName) MailEdge POP3 ready\r\n".utf8)
    }

    /// Limits clamped to something workable, so a zero or negative config value cannot
    /// make every command "too long".
    var commandLineLimit: Int { max(maxLineLength, 16) }
    var authLineLimit: Int { max(maxAuthLineLength, commandLineLimit) }
    var badCommandLimit: Int { max(maxBadCommands, 1) }
    var pipelineLimit: Int { max(maxPipelinedInput, authLineLimit) }
}

/// What the connection has to do on behalf of a `POP3Session`. Actions are executed in
/// array order.
public enum POP3Action: Sendable, Equatable {
    /// Complete response bytes (status lines and multi-line bodies, CRLF line ends).
    case send([UInt8])
    /// Flush prior sends, drop all buffered input, then run the TLS handshake and call
    /// `POP3Session.tlsEstablished(_:)`.
    case startTLS
    /// Check the credentials, then call `POP3Session.authenticationCompleted(success:)`.
    /// The only place a password ever appears.
    case authenticate(username: String, password: String)
    /// Run the operation for the authenticated user on the work pool, then call
    /// `POP3Session.mailboxCompleted(_:)`.
    case mailbox(MailboxOperation)
    /// Close the connection after flushing prior sends. When `holdsLock` is still true
    /// the connection sends `.unlock(mailbox: "INBOX")` to the store itself.
    case close
    /// A limit was hit (the reply is already in the outbox); the connection logs the
    /// reason. Never contains client data.
    case limitReached(String)
}
