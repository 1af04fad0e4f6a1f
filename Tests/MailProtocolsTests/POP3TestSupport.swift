import Foundation
import XCTest
@testable import MailProtocols

let pop3TestServer = "pop.contoso.com"
let pop3TestTLS = TLSFacts(version: "TLSv1.3", cipher: "TLS_AES_256_GCM_SHA384")

/// What one step of a POP3 transcript produced.
struct POP3Step {
    var actions: [POP3Action]

    /// All `.send` bytes concatenated, as text.
    var text: String {
        String(decoding: actions.reduce(into: [UInt8]()) { bytes, action in
            if case .send(let part) = action { bytes += part }
        }, as: UTF8.self)
    }

    var lines: [String] { text.components(separatedBy: "\r\n").dropLast().map { $0 } }

    /// Status lines only ("+OK ..." / "-ERR ...").
    var statuses: [String] { lines.filter { $0.hasPrefix("+OK") || $0.hasPrefix("-ERR") } }

    /// Actions other than replies and limit notices.
    var others: [POP3Action] {
        actions.filter {
            switch $0 {
            case .send, .limitReached: return false
            default: return true
            }
        }
    }

    var limits: [String] {
        actions.compactMap { if case .limitReached(let reason) = $0 { return reason } else { return nil } }
    }

    var operations: [MailboxOperation] {
        actions.compactMap { if case .mailbox(let operation) = $0 { return operation } else { return nil } }
    }

    var closes: Bool { actions.contains(.close) }
}

/// A stand-in for the store: an INBOX of messages by UID, and a record of every
/// operation the session asked for.
final class POP3FakeStore {
    var uidValidity: UInt32 = 1_700_000_000
    var messages: [(uid: UInt32, body: String)]
    var locked = false
    var operations: [MailboxOperation] = []

    init(_ bodies: [String] = []) {
        messages = bodies.enumerated().map { (UInt32($0.offset + 1), $0.element) }
    }

    func run(_ operation: MailboxOperation) -> MailboxResult {
        operations.append(operation)
        switch operation {
        case .lock:
            if locked { return .failure(.locked("INBOX")) }
            locked = true
            return .done
        case .unlock:
            locked = false
            return .done
        case .snapshot(let name):
            let summaries = messages.map {
                MessageSummary(uid: $0.uid, flags: [], size: $0.body.utf8.count, internalDate: pop3TestDate)
            }
            return .snapshot(MailboxSnapshot(name: name, uidValidity: uidValidity,
                                             uidNext: (messages.last?.uid ?? 0) + 1, messages: summaries))
        case .fetchBodies(_, let uids):
            var result: [UInt32: [UInt8]] = [:]
            for message in messages where uids.contains(message.uid) { result[message.uid] = Array(message.body.utf8) }
            return .bodies(result)
        case .remove(_, let uids):
            messages.removeAll { uids.contains($0.uid) }
            return .expunged(uids.sorted())
        default:
            return .failure(.notPermitted("unexpected"))
        }
    }
}

let pop3TestDate = Date(timeIntervalSince1970: 1_795_931_035)

/// Drives one `POP3Session` with strings. With a store attached, mailbox actions are
/// answered at once (like a connection with a synchronous work pool) and the replies
/// of all follow-up steps are folded into the returned step.
final class POP3Transcript {
    var session: POP3Session
    var store: POP3FakeStore?
    /// Answer to `.authenticate`; nil leaves it pending.
    var passwordCheck: ((String, String) -> Bool)? = { user, password in user == "alice" && password == "s3cret" }

    init(tlsMode: SMTPTLSMode = .starttls, tls: TLSFacts? = nil, store: POP3FakeStore? = POP3FakeStore(),
         configure: (inout POP3Policy) -> Void = { _ in }) {
        var policy = POP3Policy(serverName: pop3TestServer, tlsMode: tlsMode)
        configure(&policy)
        session = POP3Session(policy: policy, clientAddress: "192.0.2.10", tls: tls, clock: { pop3TestDate })
        self.store = store
    }

    @discardableResult
    func start() -> POP3Step { settle(session.start()) }

    @discardableResult
    func send(_ text: String) -> POP3Step { settle(session.receive(Array(text.utf8))) }

    @discardableResult
    func sendBytes(_ bytes: [UInt8]) -> POP3Step { settle(session.receive(bytes)) }

    @discardableResult
    func tlsUp(_ facts: TLSFacts = pop3TestTLS) -> POP3Step { settle(session.tlsEstablished(facts)) }

    /// Runs the asynchronous actions of `actions` against the fakes, collecting
    /// everything that follows.
    func settle(_ actions: [POP3Action]) -> POP3Step {
        var all: [POP3Action] = []
        var queue = actions
        while !queue.isEmpty {
            let action = queue.removeFirst()
            all.append(action)
            switch action {
            case .authenticate(let user, let password):
                if let check = passwordCheck { queue += session.authenticationCompleted(success: check(user, password)) }
            case .mailbox(let operation):
                if let store { queue += session.mailboxCompleted(store.run(operation)) }
            default:
                break
            }
        }
        return POP3Step(actions: all)
    }

    /// Greeting, STLS and handshake.
    @discardableResult
    func secured() -> POP3Transcript {
        start()
        send("STLS\r\n")
        tlsUp()
        return self
    }

    /// Secured and logged in as alice.
    @discardableResult
    func loggedIn() -> POP3Transcript {
        secured()
        send("USER alice\r\nPASS s3cret\r\n")
        return self
    }
}
