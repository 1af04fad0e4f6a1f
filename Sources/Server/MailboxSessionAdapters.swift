import Foundation
import Logging
import MailProtocols
import MailStore
import Synchronization

/// Runs mailbox operations for the user a session authenticated as.
struct MailboxAccess: Sendable {
    let users: UserDatabase
    let store: MailboxStore
    let recipients: RecipientPolicy

    /// The store's user for a login name (`alice` or `alice@<accepted domain>`).
    func userName(_ login: String) -> String { recipients.userName(forLogin: login) }

    func work(_ operation: MailboxOperation, user: String?) -> ConnectionAction {
        let store = self.store
        guard let user else { return .work { .mailbox(.failure(.notPermitted("not authenticated"))) } }
        return .work { .mailbox(store.perform(operation, user: user)) }
    }

    func authenticate(_ username: String, _ password: String) -> ConnectionAction {
        let users = self.users
        let user = userName(username)
        return .work { .authenticated(users.verify(user, password: password)) }
    }
}

/// What IMAP and POP3 sessions have in common, so one adapter drives both.
protocol MailboxProtocolSession {
    associatedtype Action
    mutating func start() -> [Action]
    mutating func receiveBytes(_ bytes: UnsafeBufferPointer<UInt8>) -> [Action]
    mutating func tlsEstablished(_ facts: TLSFacts) -> [Action]
    mutating func authenticationCompleted(success: Bool) -> [Action]
    mutating func mailboxCompleted(_ result: MailboxResult) -> [Action]
    mutating func idleTimeout() -> [Action]
    mutating func shutdown() -> [Action]
    /// New mail may have arrived (IMAP IDLE); POP3 has nothing to say.
    mutating func refresh() -> [Action]
    var isTLSActive: Bool { get }
    /// The protocol-neutral meaning of one action.
    static func meaning(of action: Action) -> MailboxSessionAction
}

/// An IMAP or POP3 action in the adapter's terms.
enum MailboxSessionAction {
    case send([UInt8]), startTLS, close
    case authenticate(username: String, password: String)
    case mailbox(MailboxOperation)
    case idle(Bool)
    case limitReached(String)
}

extension IMAPSession: MailboxProtocolSession {
    mutating func receiveBytes(_ bytes: UnsafeBufferPointer<UInt8>) -> [IMAPAction] { receive(bytes) }
    static func meaning(of action: IMAPAction) -> MailboxSessionAction {
        switch action {
        case .send(let bytes): return .send(bytes)
        case .startTLS: return .startTLS
        case .close: return .close
        case .authenticate(let username, let password): return .authenticate(username: username, password: password)
        case .mailbox(let operation): return .mailbox(operation)
        case .idle(let on): return .idle(on)
        case .limitReached(let what): return .limitReached(what)
        }
    }
}

extension POP3Session: MailboxProtocolSession {
    mutating func receiveBytes(_ bytes: UnsafeBufferPointer<UInt8>) -> [POP3Action] { receive(bytes) }
    mutating func refresh() -> [POP3Action] { [] }
    static func meaning(of action: POP3Action) -> MailboxSessionAction {
        switch action {
        case .send(let bytes): return .send(bytes)
        case .startTLS: return .startTLS
        case .close: return .close
        case .authenticate(let username, let password): return .authenticate(username: username, password: password)
        case .mailbox(let operation): return .mailbox(operation)
        case .limitReached(let what): return .limitReached(what)
        }
    }
}

/// Whether this connection's POP3 lock was granted; written by the work items
/// that take and release it (which run in connection order), read by the one
/// that cleans up after a dropped connection.
final class LockHolding: Sendable {
    private let granted = Mutex(false)
    func set(_ value: Bool) { granted.withLock { $0 = value } }
    func take() -> Bool { granted.withLock { value in defer { value = false }; return value } }
}

/// IMAP or POP3 plus the Maildir store for the authenticated user. POP3's INBOX
/// lock is released if the connection drops (only if it was granted: another
/// session may hold it).
final class MailboxSessionAdapter<Session: MailboxProtocolSession>: SessionAdapter {
    var session: Session
    let access: MailboxAccess
    /// Autologout limits: between commands, and while IMAP IDLE runs.
    let limits: (idle: Double, idling: Double)
    /// Made on first use: only a POP3 session that takes its maildrop needs it.
    private lazy var lock = LockHolding()
    private var pendingUser: String?
    private var user: String?
    private var started = false
    private var idling = false

    init(session: Session, access: MailboxAccess, limits: (idle: Double, idling: Double)) {
        self.session = session
        self.access = access
        self.limits = limits
    }

    var isTLSActive: Bool { session.isTLSActive }
    var idleLimit: Double { idling ? limits.idling : limits.idle }

    func start() -> [ConnectionAction] {
        started = true
        return map(session.start())
    }

    func receive(_ bytes: UnsafeBufferPointer<UInt8>) -> [ConnectionAction] { map(session.receiveBytes(bytes)) }

    func tlsEstablished(_ facts: TLSFacts) -> [ConnectionAction] {
        if !started {
            // Implicit TLS: the session begins only now.
            started = true
            _ = session.tlsEstablished(facts)
            return map(session.start())
        }
        user = nil
        return map(session.tlsEstablished(facts))
    }

    func complete(_ completion: Worker.Completion) -> [ConnectionAction] {
        switch completion {
        case .authenticated(let ok):
            if ok { user = pendingUser }
            pendingUser = nil
            return [.log(.info, ok ? "authentication succeeded" : "authentication failed", ["user": .string(ok ? user ?? "" : "-")])]
                + map(session.authenticationCompleted(success: ok))
        case .mailbox(let result):
            return map(session.mailboxCompleted(result))
        case .recipient, .delivered:
            return []
        }
    }

    func idleTimeout() -> [ConnectionAction] { map(session.idleTimeout()) }
    func shutdown() -> [ConnectionAction] { map(session.shutdown()) }

    func refresh() -> [ConnectionAction] { map(session.refresh()) }

    func dropped() -> [ConnectionAction] {
        // A dropped connection deletes nothing; it only gives a POP3 maildrop back.
        guard let user else { return [] }
        self.user = nil
        let store = access.store
        let lock = self.lock
        return [.work {
            if lock.take() { _ = store.perform(.unlock(mailbox: "INBOX"), user: user) }
            return .mailbox(.done)
        }]
    }

    private func map(_ actions: [Session.Action]) -> [ConnectionAction] {
        var result: [ConnectionAction] = []
        for action in actions {
            switch Session.meaning(of: action) {
            case .send(let bytes): result.append(.send(bytes))
            case .startTLS: result.append(.startTLS)
            case .close: result.append(.close)
            case .authenticate(let username, let password):
                pendingUser = access.userName(username)
                result.append(access.authenticate(username, password))
            case .mailbox(let operation):
                result.append(mailboxWork(operation))
            case .idle(let on):
                idling = on
                result.append(.watchMailbox(on))
            case .limitReached(let what):
                result.append(.log(.warning, "limit reached", ["limit": .string(what)]))
            }
        }
        return result
    }

    /// Store work; lock and unlock also keep `lock` up to date, in connection order.
    private func mailboxWork(_ operation: MailboxOperation) -> ConnectionAction {
        guard let user else { return access.work(operation, user: nil) }
        switch operation {
        case .lock, .unlock:
            let store = access.store
            let lock = self.lock
            return .work {
                if case .unlock = operation {
                    guard lock.take() else { return .mailbox(.done) }
                    return .mailbox(store.perform(operation, user: user))
                }
                let outcome = store.perform(operation, user: user)
                if outcome == .done { lock.set(true) }
                return .mailbox(outcome)
            }
        default:
            return access.work(operation, user: user)
        }
    }
}

extension MailboxSessionAdapter where Session == IMAPSession {
    convenience init(connector: ReceiveConnector, client: String, access: MailboxAccess) {
        let session = IMAPSession(policy: connector.imapPolicy, clientAddress: client, tls: nil, clock: { Date() })
        // RFC 3501 5.4: at least 30 minutes of inactivity before an autologout.
        self.init(session: session, access: access, limits: (max(connector.limits.idleTimeout, 1800), 1800 + 60))
    }
}

extension MailboxSessionAdapter where Session == POP3Session {
    convenience init(connector: ReceiveConnector, client: String, access: MailboxAccess) {
        let session = POP3Session(policy: connector.pop3Policy, clientAddress: client, tls: nil, clock: { Date() })
        // RFC 1939: an autologout timer of at least 10 minutes.
        let idle = max(connector.limits.idleTimeout, 600)
        self.init(session: session, access: access, limits: (idle, idle))
    }
}
