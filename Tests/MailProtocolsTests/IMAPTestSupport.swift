import Foundation
import XCTest
@testable import MailProtocols

/// The fixed clock of all IMAP transcripts: Sun, 29 Nov 2026 05:43:55 +0000.
let imapTestDate = Date(timeIntervalSince1970: 1_795_931_035)
let imapTestTLS = TLSFacts(version: "TLSv1.2", cipher: "ECDHE-RSA-AES256-GCM-SHA384")

/// "\0alice\0s3cret" in base64.
let imapPlainAlice = "AGFsaWNlAHMzY3JldA=="

/// Test messages (CRLF line ends).
enum IMAPTestMessages {
    static func crlf(_ text: String) -> String {
        text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\n", with: "\r\n")
    }

    static let simple = crlf("""
        From: Bob Example <bob@example.org>
        To: alice@contoso.com
        Subject: Lunch
        Date: Sat, 28 Nov 2026 12:00:00 +0000
        Message-ID: <lunch@example.org>

        Shall we meet at noon?
        Bob

        """)

    static let addresses = crlf("""
        From: "Smith, John" <john@example.org>
        Sender: secretary@example.org
        To: alice@contoso.com, "Carol Q" <carol@example.net>,
         dave@example.com (Dave)
        Cc: Team: erin@example.org, frank@example.org;
        Subject: =?utf-8?q?Caf=C3=A9?= "plans"
        In-Reply-To: <older@example.org>
        Message-ID: <many@example.org>
        Date: Fri, 27 Nov 2026 09:30:00 -0500

        Body with the word zebra.

        """)

    static let multipart = crlf("""
        From: Carol <carol@example.net>
        To: alice@contoso.com
        Subject: Report attached
        Date: Thu, 26 Nov 2026 08:00:00 +0000
        MIME-Version: 1.0
        Content-Type: multipart/mixed; boundary="outer"

        This is a MIME message.
        --outer
        Content-Type: multipart/alternative; boundary=inner

        --inner
        Content-Type: text/plain; charset=utf-8
        Content-Transfer-Encoding: quoted-printable

        Hello Alice,
        see the report.
        --inner
        Content-Type: text/html; charset=utf-8

        <p>Hello Alice</p>
        --inner--
        --outer
        Content-Type: application/pdf; name="report.pdf"
        Content-Transfer-Encoding: base64
        Content-Disposition: attachment; filename="report.pdf"
        Content-ID: <rep1>
        Content-Description: Quarterly report

        JVBERi0xLjQK
        --outer--

        """)
}

/// An in-memory store answering `MailboxOperation`s, the way MailStore would.
final class IMAPFakeStore {
    struct Stored {
        var summary: MessageSummary
        var bytes: [UInt8]
    }

    struct Box {
        var uidValidity: UInt32
        var uidNext: UInt32 = 1
        var messages: [Stored] = []
        var subscribed = false
        var recent: Set<UInt32> = []
    }

    var boxes: [String: Box] = ["INBOX": Box(uidValidity: 1001, subscribed: true)]
    var operations: [MailboxOperation] = []

    @discardableResult
    func add(_ text: String, to mailbox: String = "INBOX", flags: MessageFlags = [],
             date: Date = imapTestDate, recent: Bool = false) -> UInt32 {
        let bytes = Array(text.utf8)
        var box = boxes[mailbox] ?? Box(uidValidity: 2000 + UInt32(boxes.count))
        let uid = box.uidNext
        box.uidNext += 1
        box.messages.append(Stored(summary: MessageSummary(uid: uid, flags: flags, size: bytes.count, internalDate: date),
                                   bytes: bytes))
        if recent { box.recent.insert(uid) }
        boxes[mailbox] = box
        return uid
    }

    func flags(_ uid: UInt32, in mailbox: String = "INBOX") -> MessageFlags? {
        boxes[mailbox]?.messages.first { $0.summary.uid == uid }?.summary.flags
    }

    func run(_ operation: MailboxOperation) -> MailboxResult {
        operations.append(operation)
        switch operation {
        case .list:
            let names = boxes.keys.sorted()
            return .list(names.map { name in
                MailboxListEntry(name: name, hasChildren: names.contains { $0.hasPrefix(name + "/") },
                                 subscribed: boxes[name]?.subscribed ?? false)
            })
        case .snapshot(let name):
            guard var box = boxes[name] else { return .failure(.noSuchMailbox(name)) }
            let snapshot = MailboxSnapshot(name: name, uidValidity: box.uidValidity, uidNext: box.uidNext,
                                           messages: box.messages.map(\.summary), recent: box.recent)
            box.recent = []
            boxes[name] = box
            return .snapshot(snapshot)
        case .create(let name):
            guard boxes[name] == nil else { return .failure(.alreadyExists(name)) }
            boxes[name] = Box(uidValidity: 3000 + UInt32(boxes.count))
            return .done
        case .delete(let name):
            guard boxes.removeValue(forKey: name) != nil else { return .failure(.noSuchMailbox(name)) }
            return .done
        case .rename(let from, let to):
            guard let box = boxes.removeValue(forKey: from) else { return .failure(.noSuchMailbox(from)) }
            boxes[to] = box
            return .done
        case .subscribe(let name, let subscribed):
            guard boxes[name] != nil else { return .failure(.noSuchMailbox(name)) }
            boxes[name]?.subscribed = subscribed
            return .done
        case .fetchBodies(let name, let uids):
            guard let box = boxes[name] else { return .failure(.noSuchMailbox(name)) }
            var result: [UInt32: [UInt8]] = [:]
            for stored in box.messages where uids.contains(stored.summary.uid) { result[stored.summary.uid] = stored.bytes }
            return .bodies(result)
        case .setFlags(let name, let changes):
            guard var box = boxes[name] else { return .failure(.noSuchMailbox(name)) }
            for index in box.messages.indices {
                if let flags = changes[box.messages[index].summary.uid] { box.messages[index].summary.flags = flags }
            }
            boxes[name] = box
            return .done
        case .expunge(let name, let uids):
            guard var box = boxes[name] else { return .failure(.noSuchMailbox(name)) }
            let removed = box.messages.filter {
                $0.summary.flags.contains(.deleted) && (uids?.contains($0.summary.uid) ?? true)
            }.map(\.summary.uid)
            box.messages.removeAll { removed.contains($0.summary.uid) }
            boxes[name] = box
            return .expunged(removed)
        case .remove:
            return .done
        case .append(let name, let message, let flags, let date):
            guard boxes[name] != nil else { return .failure(.noSuchMailbox(name)) }
            let uid = add(String(decoding: message, as: UTF8.self), to: name, flags: flags, date: date ?? imapTestDate)
            return .appended(uidValidity: boxes[name]!.uidValidity, uid: uid)
        case .copy(let from, let uids, let to):
            guard let source = boxes[from] else { return .failure(.noSuchMailbox(from)) }
            guard boxes[to] != nil else { return .failure(.noSuchMailbox(to)) }
            var mapping: [(UInt32, UInt32)] = []
            for stored in source.messages where uids.contains(stored.summary.uid) {
                let uid = add(String(decoding: stored.bytes, as: UTF8.self), to: to, flags: stored.summary.flags,
                              date: stored.summary.internalDate)
                mapping.append((stored.summary.uid, uid))
            }
            return .copied(uidValidity: boxes[to]!.uidValidity, mapping: mapping)
        case .lock, .unlock:
            return .done
        }
    }
}

/// What one step of a transcript produced.
struct IMAPStep {
    var actions: [IMAPAction]

    var text: String {
        actions.reduce(into: "") { text, action in
            if case .send(let bytes) = action { text += String(decoding: bytes, as: UTF8.self) }
        }
    }

    var lines: [String] { text.components(separatedBy: "\r\n").filter { !$0.isEmpty } }

    /// Actions other than sends and limit notices.
    var others: [IMAPAction] {
        actions.filter {
            switch $0 {
            case .send, .limitReached: return false
            default: return true
            }
        }
    }

    var operations: [MailboxOperation] {
        actions.compactMap { if case .mailbox(let operation) = $0 { return operation } else { return nil } }
    }

    var limits: [String] {
        actions.compactMap { if case .limitReached(let text) = $0 { return text } else { return nil } }
    }

    var closes: Bool { actions.contains(.close) }
}

/// Drives one `IMAPSession` with strings; store operations and logins are answered
/// at once by the fake store (alice / s3cret is the only valid login) unless
/// `automatic` is off.
final class IMAPTranscript {
    var session: IMAPSession
    let store: IMAPFakeStore
    var automatic = true

    init(tlsMode: SMTPTLSMode = .starttls, tls: TLSFacts? = nil, store: IMAPFakeStore = IMAPFakeStore(),
         configure: (inout IMAPPolicy) -> Void = { _ in }) {
        var policy = IMAPPolicy(serverName: "imap.contoso.com", tlsMode: tlsMode)
        configure(&policy)
        session = IMAPSession(policy: policy, clientAddress: "192.0.2.10", tls: tls, clock: { imapTestDate })
        self.store = store
    }

    private func complete(_ actions: [IMAPAction]) -> IMAPStep {
        var all = actions
        var next = actions
        while automatic {
            var follow: [IMAPAction] = []
            for action in next {
                switch action {
                case .mailbox(let operation):
                    follow += session.mailboxCompleted(store.run(operation))
                case .authenticate(let username, let password):
                    follow += session.authenticationCompleted(success: username == "alice" && password == "s3cret")
                default:
                    break
                }
            }
            if follow.isEmpty { break }
            all += follow
            next = follow
        }
        return IMAPStep(actions: all)
    }

    @discardableResult
    func start() -> IMAPStep { complete(session.start()) }

    @discardableResult
    func send(_ text: String) -> IMAPStep { complete(session.receive(Array(text.utf8))) }

    @discardableResult
    func sendBytes(_ bytes: [UInt8]) -> IMAPStep { complete(session.receive(bytes)) }

    @discardableResult
    func tlsUp() -> IMAPStep { complete(session.tlsEstablished(imapTestTLS)) }

    @discardableResult
    func refresh() -> IMAPStep { complete(session.refresh()) }

    @discardableResult
    func storeDone(_ result: MailboxResult) -> IMAPStep { complete(session.mailboxCompleted(result)) }

    /// Implicit TLS, logged in as alice.
    @discardableResult
    func loggedIn() -> IMAPTranscript {
        _ = session.tlsEstablished(imapTestTLS)
        start()
        send("L1 LOGIN alice s3cret\r\n")
        return self
    }

    /// Logged in with INBOX selected.
    @discardableResult
    func selected(_ command: String = "SELECT INBOX") -> IMAPTranscript {
        loggedIn()
        send("S1 \(command)\r\n")
        return self
    }
}
