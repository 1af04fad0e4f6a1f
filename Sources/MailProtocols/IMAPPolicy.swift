import Foundation

/// The per-connector rules an `IMAPSession` enforces: the name in the greeting, how
/// TLS is done, whether passwords may cross a cleartext connection, and every limit.
/// Built from the config snapshot by the server layer; immutable for the life of a
/// session, so a reload never changes a live connection.
public struct IMAPPolicy: Sendable {
    /// Used in the greeting.
    public var serverName: String { didSet { prepareGreetings() } }
    public var tlsMode: SMTPTLSMode { didSet { prepareGreetings() } }
    /// Offer LOGIN and AUTHENTICATE before TLS (off by default: LOGINDISABLED).
    public var allowPlaintextAuth: Bool { didSet { prepareGreetings() } }
    /// Longest command line in bytes, literals not counted; also the cap on each
    /// literal of a command other than APPEND.
    public var maxLineLength: Int
    /// Largest APPEND literal (the message).
    public var maxLiteralSize: Int
    /// BAD replies before the session says BYE and closes.
    public var maxBadCommands: Int
    /// Most unprocessed bytes held while the session waits for a store or
    /// authentication result (pipelined commands); more gets BYE.
    public var maxPendingInput: Int = 1_048_576

    public init(serverName: String, tlsMode: SMTPTLSMode, allowPlaintextAuth: Bool = false,
                maxLineLength: Int = 65_536, maxLiteralSize: Int = 36_700_160,
                maxBadCommands: Int = 10) {
        self.serverName = serverName
        self.tlsMode = tlsMode
        self.allowPlaintextAuth = allowPlaintextAuth
        self.maxLineLength = maxLineLength
        self.maxLiteralSize = maxLiteralSize
        self.maxBadCommands = maxBadCommands
        prepareGreetings()
    }

    /// The greeting before and under TLS, rendered when the policy is made or one of
    /// the fields it names changes (a connector's policy: once), not per connection.
    private var greetings: (plain: [UInt8], tls: [UInt8]) = ([], [])

    private mutating func prepareGreetings() {
        func render(_ tlsActive: Bool) -> [UInt8] {
            let capabilities = capabilities(tlsActive: tlsActive, authenticated: false)
            return Array("* OK [CAPABILITY \(capabilities)] \(serverName) MailEdge IMAP ready\r\n".utf8)
        }
        greetings = (render(false), render(true))
    }

    /// `* OK [CAPABILITY ...] <name> MailEdge IMAP ready`, CRLF included.
    func greeting(tlsActive: Bool) -> [UInt8] { tlsActive ? greetings.tls : greetings.plain }

    /// What CAPABILITY lists in a session's state: STARTTLS only where it can still
    /// start, AUTH=PLAIN where a password may be sent, LOGINDISABLED otherwise; after
    /// login only the extensions.
    func capabilities(tlsActive: Bool, authenticated: Bool) -> String {
        var list = "IMAP4rev1 SASL-IR LITERAL+ ID ENABLE IDLE UIDPLUS UNSELECT"
        guard !authenticated else { return list }
        if !tlsActive, tlsMode == .starttls { list += " STARTTLS" }
        list += plaintextAuthAllowed(tlsActive: tlsActive) ? " AUTH=PLAIN" : " LOGINDISABLED"
        return list
    }

    /// Whether LOGIN and AUTHENTICATE PLAIN are accepted: under TLS, or before it
    /// when the connector allows cleartext passwords.
    func plaintextAuthAllowed(tlsActive: Bool) -> Bool { tlsActive || allowPlaintextAuth }

    /// Limits clamped to something workable, so a zero or negative config value
    /// cannot make every command "too long".
    var lineLimit: Int { max(maxLineLength, 64) }
    var literalLimit: Int { max(maxLiteralSize, 0) }
    var badCommandLimit: Int { max(maxBadCommands, 1) }
    var pendingInputLimit: Int { max(maxPendingInput, 2 * lineLimit) }
}

/// What the connection has to do on behalf of an `IMAPSession`. Actions are executed
/// in array order.
public enum IMAPAction: Sendable, Equatable {
    /// Complete response bytes (may hold literals).
    case send([UInt8])
    /// Flush prior sends, drop all buffered input, run the TLS handshake, then call
    /// `IMAPSession.tlsEstablished(_:)`.
    case startTLS
    /// Check the credentials, then call `IMAPSession.authenticationCompleted(success:)`.
    /// The only place a password ever appears.
    case authenticate(username: String, password: String)
    /// Run the operation for the authenticated user (on the work pool), then call
    /// `IMAPSession.mailboxCompleted(_:)`.
    case mailbox(MailboxOperation)
    /// true: IDLE started, the connection calls `refresh()` on new mail or a timer;
    /// false: IDLE ended.
    case idle(Bool)
    /// Close the connection after flushing prior sends.
    case close
    /// A limit was hit (the response is already in the outbox); for the log.
    case limitReached(String)
}
