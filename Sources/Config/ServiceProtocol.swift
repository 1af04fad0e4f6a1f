/// The mail service a receive connector speaks. Chosen per connector in `mailedge.toml`
/// (`protocol = "smtp"`); the certificate resolver also keys on it.
public enum ServiceProtocol: String, Sendable, CaseIterable, Hashable {
    /// Inbound MTA-to-MTA mail (RFC 5321), usually port 25.
    case smtp
    /// Client submission with AUTH (RFC 6409), ports 587 and 465.
    case submission
    case imap
    case pop3

    /// Protocols this release can serve.
    public static let available: [ServiceProtocol] = [.smtp, .submission, .imap, .pop3]

    public var isAvailable: Bool { Self.available.contains(self) }
}

/// How a connector starts TLS: upgraded in-band (STARTTLS/STLS), from the first byte
/// (SMTPS, IMAPS, POP3S), or never.
public enum ConnectorTLS: String, Sendable, CaseIterable, Hashable {
    case starttls
    case implicit
    case none
}
