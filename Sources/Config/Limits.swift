/// `[limits]`: every timer and size the connections enforce; each breach gets a
/// protocol-correct error. Part of the immutable config snapshot.
public struct Limits: Sendable, Equatable {
    /// Seconds from accept (or STARTTLS) to a finished handshake.
    public var handshakeTimeout: Double
    /// Seconds without a command (RFC 5321 4.5.3.2.7 server timeout: 5 minutes).
    public var idleTimeout: Double
    /// Bytes per command line, CRLF included; at least 512 (RFC 5321 4.5.3.1.4).
    public var maxLineLength: Int
    /// Bytes per message, advertised with SIZE; at least 1024.
    public var maxMessageSize: Int
    /// Simultaneous connections from one client address.
    public var maxConnectionsPerClient: Int
    /// RCPT TO per message.
    public var maxRecipients: Int
    /// Seconds connections get to finish after SIGTERM.
    public var drainTimeout: Double

    public static let minimumLineLength = 512
    public static let minimumMessageSize = 1024

    public init(
        handshakeTimeout: Double = 30,
        idleTimeout: Double = 300,
        maxLineLength: Int = 2048,
        maxMessageSize: Int = 36_700_160,
        maxConnectionsPerClient: Int = 20,
        maxRecipients: Int = 100,
        drainTimeout: Double = 10
    ) {
        self.handshakeTimeout = handshakeTimeout
        self.idleTimeout = idleTimeout
        self.maxLineLength = maxLineLength
        self.maxMessageSize = maxMessageSize
        self.maxConnectionsPerClient = maxConnectionsPerClient
        self.maxRecipients = maxRecipients
        self.drainTimeout = drainTimeout
    }
}
