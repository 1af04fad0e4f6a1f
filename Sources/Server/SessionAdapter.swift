import Foundation
import Logging
import MailProtocols

/// What a protocol session asks its connection to do, whatever the protocol.
enum ConnectionAction {
    case send([UInt8])
    /// Text sent as its UTF-8 bytes, without an array made of it first.
    case sendText(String)
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
/// SMTP, IMAP and POP3 alike. Owned by its connection; not Sendable. A class: the
/// connection reaches it through an existential, and reading a property of an
/// existential struct (`idleLimit`) copied the whole session with a retain per
/// field, several times per connection.
protocol SessionAdapter: AnyObject {
    func start() -> [ConnectionAction]
    /// Input from the client, valid only during the call (the channel's read buffer):
    /// the session copies it into its own input buffer before anything else.
    func receive(_ bytes: UnsafeBufferPointer<UInt8>) -> [ConnectionAction]
    func tlsEstablished(_ facts: TLSFacts) -> [ConnectionAction]
    func complete(_ completion: Worker.Completion) -> [ConnectionAction]
    func idleTimeout() -> [ConnectionAction]
    func shutdown() -> [ConnectionAction]
    /// New mail may have arrived (IMAP IDLE poll).
    func refresh() -> [ConnectionAction]
    /// The connection is gone without a clean end: release what the session holds.
    func dropped() -> [ConnectionAction]
    var isTLSActive: Bool { get }
    /// Idle timeout now: IMAP allows 30 minutes while IDLE (RFC 3501).
    var idleLimit: Double { get }
}
