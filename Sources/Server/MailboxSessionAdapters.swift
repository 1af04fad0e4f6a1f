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

/// IMAP: `IMAPSession` plus the Maildir store for the authenticated user.
struct IMAPSessionAdapter: SessionAdapter {
    var session: IMAPSession
    let access: MailboxAccess
    let limits: (idle: Double, idling: Double)
    private var pendingUser: String?
    private var user: String?
    private var started = false

    init(connector: ReceiveConnector, client: String, access: MailboxAccess) {
        session = IMAPSession(policy: IMAPPolicy(serverName: connector.config.fqdn, tlsMode: connector.smtpTLSMode,
                                                 allowPlaintextAuth: connector.config.allowPlaintextAuth,
                                                 maxLiteralSize: connector.limits.maxMessageSize),
                              clientAddress: client, tls: nil, clock: { Date() })
        self.access = access
        // RFC 3501 5.4: at least 30 minutes of inactivity before an autologout.
        limits = (max(connector.limits.idleTimeout, 1800), 1800 + 60)
    }

    var isTLSActive: Bool { session.isTLSActive }
    var idleLimit: Double { session.isIdling ? limits.idling : limits.idle }

    mutating func start() -> [ConnectionAction] {
        started = true
        return map(session.start())
    }
    mutating func receive(_ bytes: [UInt8]) -> [ConnectionAction] { map(session.receive(bytes)) }
    mutating func tlsEstablished(_ facts: TLSFacts) -> [ConnectionAction] {
        if !started {
            started = true
            _ = session.tlsEstablished(facts)
            return map(session.start())
        }
        user = nil
        return map(session.tlsEstablished(facts))
    }
    mutating func complete(_ completion: Worker.Completion) -> [ConnectionAction] {
        switch completion {
        case .authenticated(let ok):
            if ok { user = pendingUser }
            pendingUser = nil
            return [.log(.info, ok ? "authentication succeeded" : "authentication failed", ["user": "\(ok ? user ?? "" : "-")"])]
                + map(session.authenticationCompleted(success: ok))
        case .mailbox(let result):
            return map(session.mailboxCompleted(result))
        case .recipient, .delivered:
            return []
        }
    }
    mutating func idleTimeout() -> [ConnectionAction] { map(session.idleTimeout()) }
    mutating func shutdown() -> [ConnectionAction] { map(session.shutdown()) }
    mutating func refresh() -> [ConnectionAction] { map(session.refresh()) }
    mutating func dropped() -> [ConnectionAction] { [] }

    private mutating func map(_ actions: [IMAPAction]) -> [ConnectionAction] {
        var result: [ConnectionAction] = []
        for action in actions {
            switch action {
            case .send(let bytes): result.append(.send(bytes))
            case .startTLS: result.append(.startTLS)
            case .close: result.append(.close)
            case .authenticate(let username, let password):
                pendingUser = access.userName(username)
                result.append(access.authenticate(username, password))
            case .mailbox(let operation): result.append(access.work(operation, user: user))
            case .idle(let on): result.append(.watchMailbox(on))
            case .limitReached(let what): result.append(.log(.warning, "limit reached", ["limit": "\(what)"]))
            }
        }
        return result
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

/// POP3: `POP3Session` plus the Maildir store; the INBOX lock is released if the
/// connection drops (only if it was granted: another session may hold it).
struct POP3SessionAdapter: SessionAdapter {
    var session: POP3Session
    let access: MailboxAccess
    private let lock = LockHolding()
    let idleLimit: Double
    private var pendingUser: String?
    private var user: String?
    private var started = false

    init(connector: ReceiveConnector, client: String, access: MailboxAccess) {
        session = POP3Session(policy: POP3Policy(serverName: connector.config.fqdn, tlsMode: connector.smtpTLSMode,
                                                 allowPlaintextAuth: connector.config.allowPlaintextAuth),
                              clientAddress: client, tls: nil, clock: { Date() })
        self.access = access
        // RFC 1939: an autologout timer of at least 10 minutes.
        idleLimit = max(connector.limits.idleTimeout, 600)
    }

    var isTLSActive: Bool { session.isTLSActive }

    mutating func start() -> [ConnectionAction] {
        started = true
        return map(session.start())
    }
    mutating func receive(_ bytes: [UInt8]) -> [ConnectionAction] { map(session.receive(bytes)) }
    mutating func tlsEstablished(_ facts: TLSFacts) -> [ConnectionAction] {
        if !started {
            started = true
            _ = session.tlsEstablished(facts)
            return map(session.start())
        }
        user = nil
        return map(session.tlsEstablished(facts))
    }
    mutating func complete(_ completion: Worker.Completion) -> [ConnectionAction] {
        switch completion {
        case .authenticated(let ok):
            if ok { user = pendingUser }
            pendingUser = nil
            return [.log(.info, ok ? "authentication succeeded" : "authentication failed", ["user": "\(ok ? user ?? "" : "-")"])]
                + map(session.authenticationCompleted(success: ok))
        case .mailbox(let result):
            return map(session.mailboxCompleted(result))
        case .recipient, .delivered:
            return []
        }
    }
    mutating func idleTimeout() -> [ConnectionAction] { map(session.idleTimeout()) }
    mutating func shutdown() -> [ConnectionAction] { map(session.shutdown()) }
    mutating func refresh() -> [ConnectionAction] { [] }
    mutating func dropped() -> [ConnectionAction] {
        // A dropped connection deletes nothing; it only gives the maildrop back.
        guard let user else { return [] }
        self.user = nil
        let store = access.store
        let lock = self.lock
        return [.work {
            if lock.take() { _ = store.perform(.unlock(mailbox: "INBOX"), user: user) }
            return .mailbox(.done)
        }]
    }

    private mutating func map(_ actions: [POP3Action]) -> [ConnectionAction] {
        var result: [ConnectionAction] = []
        for action in actions {
            switch action {
            case .send(let bytes): result.append(.send(bytes))
            case .startTLS: result.append(.startTLS)
            case .close: result.append(.close)
            case .authenticate(let username, let password):
                pendingUser = access.userName(username)
                result.append(access.authenticate(username, password))
            case .mailbox(let operation):
                switch operation {
                case .lock, .unlock:
                    guard let user else { result.append(access.work(operation, user: nil)); continue }
                    let store = access.store
                    let lock = self.lock
                    result.append(.work {
                        if case .unlock = operation {
                            guard lock.take() else { return .mailbox(.done) }
                            return .mailbox(store.perform(operation, user: user))
                        }
                        let outcome = store.perform(operation, user: user)
                        if outcome == .done { lock.set(true) }
                        return .mailbox(outcome)
                    })
                default:
                    result.append(access.work(operation, user: user))
                }
            case .limitReached(let what): result.append(.log(.warning, "limit reached", ["limit": "\(what)"]))
            }
        }
        return result
    }
}
