import XCTest
@testable import MailProtocols

final class POP3TransactionTests: XCTestCase {
    static let first = "From: bob@fabrikam.com\r\nSubject: one\r\n\r\nHello\r\n.hidden dot\r\n..two\r\nend\r\n"
    static let second = "Subject: two\r\n\r\nl1\r\nl2\r\nl3\r\n"

    func loggedIn(_ bodies: [String] = [first, second]) -> POP3Transcript {
        POP3Transcript(store: POP3FakeStore(bodies)).loggedIn()
    }

    func testStatListUidl() {
        let t = loggedIn()
        let a = Self.first.utf8.count, b = Self.second.utf8.count
        XCTAssertEqual(t.send("STAT\r\n").text, "+OK 2 \(a + b)\r\n")
        XCTAssertEqual(t.send("LIST\r\n").text, "+OK 2 messages (\(a + b) octets)\r\n1 \(a)\r\n2 \(b)\r\n.\r\n")
        XCTAssertEqual(t.send("LIST 2\r\n").text, "+OK 2 \(b)\r\n")
        XCTAssertEqual(t.send("UIDL\r\n").text, "+OK 2 messages (\(a + b) octets)\r\n1 1700000000.1\r\n2 1700000000.2\r\n.\r\n")
        XCTAssertEqual(t.send("UIDL 1\r\n").text, "+OK 1 1700000000.1\r\n")
        XCTAssertEqual(t.send("LIST 3\r\n").statuses, ["-ERR No such message"])
        XCTAssertEqual(t.send("LIST 0\r\n").statuses, ["-ERR Invalid message number"])
        XCTAssertEqual(t.send("UIDL x\r\n").statuses, ["-ERR Invalid message number"])
        XCTAssertEqual(t.send("LIST 1 2\r\n").statuses, ["-ERR Syntax: LIST [msg]"])
    }

    func testEmptyMaildrop() {
        let t = loggedIn([])
        XCTAssertEqual(t.send("STAT\r\n").text, "+OK 0 0\r\n")
        XCTAssertEqual(t.send("LIST\r\n").text, "+OK 0 messages (0 octets)\r\n.\r\n")
        XCTAssertEqual(t.send("RETR 1\r\n").statuses, ["-ERR No such message"])
    }

    func testRetrByteStuffsAndTerminates() {
        let t = loggedIn()
        let step = t.send("RETR 1\r\n")
        XCTAssertEqual(step.operations, [.fetchBodies(mailbox: "INBOX", uids: [1])])
        XCTAssertEqual(step.text, "+OK \(Self.first.utf8.count) octets\r\n"
                       + "From: bob@fabrikam.com\r\nSubject: one\r\n\r\nHello\r\n..hidden dot\r\n...two\r\nend\r\n.\r\n")
    }

    func testRetrAddsMissingFinalLineEnd() {
        let t = loggedIn(["Subject: x\r\n\r\nno newline"])
        XCTAssertTrue(t.send("RETR 1\r\n").text.hasSuffix("\r\n\r\nno newline\r\n.\r\n"))
    }

    func testTopSendsHeaderAndLines() {
        let t = loggedIn()
        XCTAssertEqual(t.send("TOP 2 2\r\n").text, "+OK\r\nSubject: two\r\n\r\nl1\r\nl2\r\n.\r\n")
        XCTAssertEqual(t.send("TOP 2 0\r\n").text, "+OK\r\nSubject: two\r\n\r\n.\r\n")
        XCTAssertEqual(t.send("TOP 1 99999999999999999999999\r\n").text,
                       "+OK\r\nFrom: bob@fabrikam.com\r\nSubject: one\r\n\r\nHello\r\n..hidden dot\r\n...two\r\nend\r\n.\r\n")
        XCTAssertEqual(t.send("TOP 1\r\n").statuses, ["-ERR Syntax: TOP msg n"])
        XCTAssertEqual(t.send("TOP 1 -1\r\n").statuses, ["-ERR Syntax: TOP msg n"])
    }

    func testRetrOfVanishedMessage() {
        let store = POP3FakeStore([Self.first])
        let t = POP3Transcript(store: store).loggedIn()
        store.messages = []
        XCTAssertEqual(t.send("RETR 1\r\nNOOP\r\n").statuses,
                       ["-ERR [SYS/TEMP] Message 1 is no longer available", "+OK"])
    }

    func testRetrMarksNothing() {
        let t = loggedIn()
        t.send("RETR 1\r\nTOP 2 1\r\n")
        let step = t.send("QUIT\r\n")
        XCTAssertEqual(step.operations, [.unlock(mailbox: "INBOX")])
    }

    func testDeleAndRset() {
        let t = loggedIn()
        let b = Self.second.utf8.count
        XCTAssertEqual(t.send("DELE 1\r\n").text, "+OK Message 1 deleted\r\n")
        XCTAssertEqual(t.send("DELE 1\r\n").statuses, ["-ERR Message 1 already deleted"])
        XCTAssertEqual(t.send("RETR 1\r\n").statuses, ["-ERR Message 1 already deleted"])
        XCTAssertEqual(t.send("TOP 1 0\r\n").statuses, ["-ERR Message 1 already deleted"])
        XCTAssertEqual(t.send("LIST 1\r\n").statuses, ["-ERR Message 1 already deleted"])
        XCTAssertEqual(t.send("UIDL 1\r\n").statuses, ["-ERR Message 1 already deleted"])
        XCTAssertEqual(t.send("STAT\r\n").text, "+OK 1 \(b)\r\n")
        XCTAssertEqual(t.send("LIST\r\n").text, "+OK 1 messages (\(b) octets)\r\n2 \(b)\r\n.\r\n")
        XCTAssertEqual(t.send("RSET\r\n").statuses, ["+OK Maildrop has 2 messages (\(Self.first.utf8.count + b) octets)"])
        XCTAssertEqual(t.send("STAT\r\n").text, "+OK 2 \(Self.first.utf8.count + b)\r\n")
        XCTAssertEqual(t.send("QUIT\r\n").operations, [.unlock(mailbox: "INBOX")])
    }

    func testDeleThenQuitRemovesThenUnlocks() {
        let store = POP3FakeStore([Self.first, Self.second])
        let t = POP3Transcript(store: store).loggedIn()
        t.send("DELE 2\r\nDELE 1\r\n")
        XCTAssertTrue(t.session.holdsLock)
        let step = t.send("QUIT\r\n")
        XCTAssertEqual(step.operations, [.remove(mailbox: "INBOX", uids: [1, 2]), .unlock(mailbox: "INBOX")])
        XCTAssertEqual(step.statuses, ["+OK pop.contoso.com MailEdge POP3 signing off (0 messages left)"])
        XCTAssertEqual(step.actions.last, .close)
        XCTAssertTrue(store.messages.isEmpty)
        XCTAssertFalse(store.locked)
        XCTAssertFalse(t.session.holdsLock)
    }

    func testQuitWaitsForEachOperation() {
        let t = POP3Transcript(store: nil)
        t.session = POP3Session(policy: POP3Policy(serverName: "p", tlsMode: .implicit), clientAddress: "x",
                                tls: pop3TestTLS, clock: { pop3TestDate })
        _ = t.session.start()
        _ = t.session.receive(Array("USER alice\r\nPASS s3cret\r\n".utf8))
        _ = t.session.authenticationCompleted(success: true)
        _ = t.session.mailboxCompleted(.done)
        let summary = MessageSummary(uid: 7, flags: [], size: 3, internalDate: pop3TestDate)
        _ = t.session.mailboxCompleted(.snapshot(MailboxSnapshot(name: "INBOX", uidValidity: 9, uidNext: 8, messages: [summary])))
        XCTAssertEqual(t.session.receive(Array("DELE 1\r\nQUIT\r\n".utf8)),
                       [.send(Array("+OK Message 1 deleted\r\n".utf8)), .mailbox(.remove(mailbox: "INBOX", uids: [7]))])
        XCTAssertTrue(t.session.holdsLock)
        XCTAssertEqual(t.session.mailboxCompleted(.failure(.io("disk"))), [.mailbox(.unlock(mailbox: "INBOX"))])
        XCTAssertFalse(t.session.holdsLock)
        XCTAssertEqual(t.session.mailboxCompleted(.done),
                       [.send(Array("-ERR [SYS/TEMP] Some deleted messages not removed\r\n".utf8)), .close])
    }

    func testQuitWithoutDeletionsOnlyUnlocks() {
        let store = POP3FakeStore([Self.first])
        let t = POP3Transcript(store: store).loggedIn()
        let step = t.send("QUIT\r\n")
        XCTAssertEqual(step.operations, [.unlock(mailbox: "INBOX")])
        XCTAssertEqual(step.statuses, ["+OK pop.contoso.com MailEdge POP3 signing off (1 messages left)"])
        XCTAssertTrue(step.closes)
        XCTAssertEqual(store.messages.count, 1)
    }

    func testDroppedConnectionDeletesNothing() {
        let store = POP3FakeStore([Self.first])
        let t = POP3Transcript(store: store).loggedIn()
        t.send("DELE 1\r\n")
        let step = POP3Step(actions: t.session.idleTimeout())
        XCTAssertEqual(step.statuses, ["-ERR [SYS/TEMP] idle timeout"])
        XCTAssertEqual(step.operations, [])
        XCTAssertTrue(step.closes)
        XCTAssertTrue(t.session.holdsLock)   // the connection unlocks
        XCTAssertEqual(store.messages.count, 1)
        XCTAssertEqual(t.session.shutdown(), [])
    }

    func testPipelinedCommandsAnswerInOrder() {
        let t = POP3Transcript(store: POP3FakeStore([Self.second]))
        t.secured()
        let step = t.send("USER alice\r\nPASS s3cret\r\nSTAT\r\nRETR 1\r\nLIST\r\nDELE 1\r\nQUIT\r\n")
        XCTAssertEqual(step.statuses, ["+OK Send your password", "+OK Logged in, 1 messages (28 octets)",
                                       "+OK 1 28", "+OK 28 octets", "+OK 1 messages (28 octets)",
                                       "+OK Message 1 deleted",
                                       "+OK pop.contoso.com MailEdge POP3 signing off (0 messages left)"])
        XCTAssertEqual(step.operations, [.lock(mailbox: "INBOX"), .snapshot(mailbox: "INBOX"),
                                         .fetchBodies(mailbox: "INBOX", uids: [1]),
                                         .remove(mailbox: "INBOX", uids: [1]), .unlock(mailbox: "INBOX")])
    }

    func testPipelinedInputWhileWaitingIsHeldAndBounded() {
        let t = POP3Transcript(store: nil).secured()
        t.send("USER alice\r\nPASS s3cret\r\n")   // waiting for the lock
        XCTAssertEqual(t.send("STAT\r\n").actions, [])
        let flood = t.send(String(repeating: "NOOP\r\n", count: 20_000))
        XCTAssertEqual(flood.statuses, ["-ERR [SYS/PERM] Too much pipelined input"])
        XCTAssertEqual(flood.limits, ["more than 65536 bytes of pipelined input"])
        XCTAssertTrue(flood.closes)
    }

    func testBadCommandsCloseTheSession() {
        let t = POP3Transcript(configure: { $0.maxBadCommands = 3 })
        t.start()
        XCTAssertEqual(t.send("FOO\r\n").statuses, ["-ERR Unknown command"])
        XCTAssertEqual(t.send("\r\n").statuses, ["-ERR Unknown command"])
        let last = t.send("STAT\r\nCAPA\r\n")
        XCTAssertEqual(last.statuses, ["-ERR Command not valid in this state, log in first",
                                       "-ERR [SYS/PERM] Too many bad commands, closing connection"])
        XCTAssertEqual(last.limits, ["3 bad commands"])
        XCTAssertTrue(last.closes)
        XCTAssertTrue(t.session.isClosed)
    }

    func testTransactionStateRefusesLoginCommands() {
        let t = loggedIn()
        XCTAssertEqual(t.send("USER bob\r\n").statuses, ["-ERR Command not valid in this state, already logged in"])
        XCTAssertEqual(t.send("PASS x\r\n").statuses, ["-ERR Command not valid in this state"])
        XCTAssertEqual(t.send("STLS\r\n").statuses, ["-ERR Command not valid in this state, already logged in"])
        XCTAssertEqual(t.send("NOOP\r\n").text, "+OK\r\n")
        XCTAssertFalse(t.send("CAPA\r\n").lines.contains("USER"))
    }

    func testLongLine() {
        let t = POP3Transcript()
        t.start()
        let step = t.send("NOOP " + String(repeating: "x", count: 600) + "\r\nCAPA\r\n")
        XCTAssertEqual(step.statuses, ["-ERR line too long", "+OK Capability list follows"])
        XCTAssertEqual(step.limits, ["line longer than 512 bytes"])
        // A line of exactly 512 bytes (CRLF included) is fine.
        let exact = "LIST " + String(repeating: "1", count: 505) + "\r\n"
        XCTAssertEqual(exact.utf8.count, 512)
        XCTAssertEqual(t.send(exact).statuses, ["-ERR Command not valid in this state, log in first"])
    }

    func testLongAuthResponseUsesTheAuthLimit() {
        let t = POP3Transcript().secured()
        t.send("AUTH PLAIN\r\n")
        let long = String(repeating: "A", count: 900)   // decodes, but is no PLAIN message
        XCTAssertEqual(t.send(long + "\r\n").statuses, ["-ERR Cannot decode SASL response"])
        t.send("AUTH PLAIN\r\n")
        let tooLong = t.send(String(repeating: "A", count: 1100) + "\r\n")
        XCTAssertEqual(tooLong.statuses, ["-ERR line too long"])
        XCTAssertEqual(tooLong.limits, ["line longer than 1024 bytes"])
    }

    func testMessageFormatterHandlesBareLFAndLeadingDots() {
        let bytes = POP3MessageFormatter.multiline(Array("A: b\n\n.\n..x\nlast".utf8), bodyLines: nil)
        XCTAssertEqual(String(decoding: bytes, as: UTF8.self), "A: b\r\n\r\n..\r\n...x\r\nlast\r\n.\r\n")
        XCTAssertEqual(POP3MessageFormatter.multiline([], bodyLines: nil), Array(".\r\n".utf8))
    }
}
