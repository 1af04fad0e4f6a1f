import Foundation
import Logging
import MailProtocols

/// What a protocol session asks its connection to do, whatever the protocol.
enum ConnectionAction {
    case send([UInt8])
    /// Flush, then swap the socket to TLS (STARTTLS / STLS).
    case startTLS
    /// Close after flushing.
    case close
    /// Blocking work for the work pool; its result comes back through `complete`.
    case work(@Sendable () -> Worker.Completion)
    case log(Logger.Level, String, Logger.Metadata)
    /// IMAP IDLE: poll the mailbox while true.
    case watchMailbox(Bool)
}

/// One protocol's session behind a uniform face, so `MailConnection` can drive
/// SMTP, IMAP and POP3 alike. Owned by its connection; not Sendable.
protocol SessionAdapter {
    mutating func start() -> [ConnectionAction]
    mutating func receive(_ bytes: [UInt8]) -> [ConnectionAction]
    mutating func tlsEstablished(_ facts: TLSFacts) -> [ConnectionAction]
    mutating func complete(_ completion: Worker.Completion) -> [ConnectionAction]
    mutating func idleTimeout() -> [ConnectionAction]
    mutating func shutdown() -> [ConnectionAction]
    /// New mail may have arrived (IMAP IDLE poll).
    mutating func refresh() -> [ConnectionAction]
    /// The connection is gone without a clean end: release what the session holds.
    mutating func dropped() -> [ConnectionAction]
    var isTLSActive: Bool { get }
    /// Idle timeout now: IMAP allows 30 minutes while IDLE (RFC 3501).
    var idleLimit: Double { get }
}
