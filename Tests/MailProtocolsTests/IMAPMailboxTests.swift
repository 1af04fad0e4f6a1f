import XCTest
@testable import MailProtocols

/// SELECT, EXAMINE, LIST, STATUS, CREATE/DELETE/RENAME, APPEND and COPY.
final class IMAPMailboxTests: XCTestCase {
    private func storeWithMail() -> IMAPFakeStore {
        let store = IMAPFakeStore()
        store.add(IMAPTestMessages.simple, flags: [.seen])
        store.add(IMAPTestMessages.addresses, recent: true)
        store.add(IMAPTestMessages.multipart, flags: [.seen, .flagged])
        return store
    }

    func testSelectResponses() {
        let t = IMAPTranscript(store: storeWithMail()).loggedIn()
        let step = t.send("a SELECT inbox\r\n")
        XCTAssertEqual(step.lines, [
            "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)",
            "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)] Flags permitted",
            "* 3 EXISTS",
            "* 1 RECENT",
            "* OK [UIDVALIDITY 1001] UIDs valid",
            "* OK [UIDNEXT 4] Predicted next UID",
            "* OK [UNSEEN 2] First unseen",
            "a OK [READ-WRITE] SELECT completed",
        ])
        XCTAssertEqual(step.operations, [.snapshot(mailbox: "INBOX")])
        XCTAssertEqual(t.session.selectedMailbox, "INBOX")
    }

    func testExamineIsReadOnly() {
        let t = IMAPTranscript(store: storeWithMail()).loggedIn()
        let step = t.send("a EXAMINE INBOX\r\n")
        XCTAssertTrue(step.lines.contains("* OK [PERMANENTFLAGS ()] Flags permitted"))
        XCTAssertEqual(step.lines.last, "a OK [READ-ONLY] EXAMINE completed")
        XCTAssertEqual(t.send("b STORE 1 +FLAGS (\\Deleted)\r\n").text, "b NO [READ-ONLY] Mailbox is read-only\r\n")
        XCTAssertEqual(t.send("c EXPUNGE\r\n").text, "c NO [READ-ONLY] Mailbox is read-only\r\n")
        let fetch = t.send("d FETCH 2 BODY[TEXT]\r\n")
        XCTAssertFalse(fetch.operations.contains { if case .setFlags = $0 { return true } else { return false } },
                       "EXAMINE never sets \\Seen")
        XCTAssertEqual(t.send("e CLOSE\r\n").operations, [], "CLOSE after EXAMINE expunges nothing")
        XCTAssertNil(t.session.selectedMailbox)
    }

    func testSelectMissingMailboxAndReselect() {
        let t = IMAPTranscript().loggedIn()
        XCTAssertEqual(t.send("a SELECT Nope\r\n").text, "a NO [NONEXISTENT] Mailbox does not exist\r\n")
        XCTAssertNil(t.session.selectedMailbox)
        t.send("b SELECT INBOX\r\n")
        let again = t.send("c SELECT Nope\r\n")
        XCTAssertEqual(again.lines.first, "* OK [CLOSED] Previous mailbox closed")
        XCTAssertNil(t.session.selectedMailbox, "a failed SELECT leaves no mailbox selected")
    }

    func testListPatternsAndDelimiter() {
        let store = IMAPFakeStore()
        store.boxes["Archive"] = .init(uidValidity: 5)
        store.boxes["Archive/2026"] = .init(uidValidity: 6)
        store.boxes["Sent Items"] = .init(uidValidity: 7, subscribed: true)
        let t = IMAPTranscript(store: store).loggedIn()
        XCTAssertEqual(t.send("a LIST \"\" \"\"\r\n").lines, ["* LIST (\\Noselect) \"/\" \"\"", "a OK LIST completed"])
        XCTAssertEqual(t.send("b LIST \"\" *\r\n").lines, [
            "* LIST (\\HasChildren) \"/\" Archive",
            "* LIST (\\HasNoChildren) \"/\" Archive/2026",
            "* LIST (\\HasNoChildren) \"/\" INBOX",
            "* LIST (\\HasNoChildren) \"/\" \"Sent Items\"",
            "b OK LIST completed",
        ])
        XCTAssertEqual(t.send("c LIST \"\" %\r\n").lines.count, 4)
        XCTAssertEqual(t.send("d LIST Archive/ %\r\n").lines, ["* LIST (\\HasNoChildren) \"/\" Archive/2026", "d OK LIST completed"])
        XCTAssertEqual(t.send("e LSUB \"\" *\r\n").lines,
                       ["* LSUB () \"/\" INBOX", "* LSUB () \"/\" \"Sent Items\"", "e OK LSUB completed"])
    }

    func testStatus() {
        let t = IMAPTranscript(store: storeWithMail()).loggedIn()
        XCTAssertEqual(t.send("a STATUS INBOX (MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN)\r\n").lines, [
            "* STATUS INBOX (MESSAGES 3 RECENT 1 UIDNEXT 4 UIDVALIDITY 1001 UNSEEN 1)",
            "a OK STATUS completed",
        ])
        XCTAssertEqual(t.send("b STATUS INBOX (SIZE)\r\n").text, "b BAD STATUS unknown status item\r\n")
        XCTAssertEqual(t.send("c STATUS Nope (MESSAGES)\r\n").text, "c NO [NONEXISTENT] Mailbox does not exist\r\n")
    }

    func testCreateDeleteRenameSubscribe() {
        let t = IMAPTranscript().loggedIn()
        XCTAssertEqual(t.send("a CREATE Projects/\r\n").text, "a OK CREATE completed\r\n")
        XCTAssertNotNil(t.store.boxes["Projects"])
        XCTAssertEqual(t.send("b CREATE Projects\r\n").text, "b NO [ALREADYEXISTS] Mailbox already exists\r\n")
        XCTAssertEqual(t.send("c CREATE inbox\r\n").text, "c NO [ALREADYEXISTS] INBOX always exists\r\n")
        XCTAssertEqual(t.send("d RENAME Projects Done\r\n").text, "d OK RENAME completed\r\n")
        XCTAssertEqual(t.send("e SUBSCRIBE Done\r\n").text, "e OK SUBSCRIBE completed\r\n")
        XCTAssertEqual(t.store.boxes["Done"]?.subscribed, true)
        XCTAssertEqual(t.send("f UNSUBSCRIBE Done\r\n").text, "f OK UNSUBSCRIBE completed\r\n")
        XCTAssertEqual(t.send("g DELETE Done\r\n").text, "g OK DELETE completed\r\n")
        XCTAssertEqual(t.send("h DELETE INBOX\r\n").text, "h NO [CANNOT] INBOX cannot be deleted\r\n")
        XCTAssertEqual(t.send("i DELETE Done\r\n").text, "i NO [NONEXISTENT] Mailbox does not exist\r\n")
    }

    func testAppendWithSynchronisingLiteral() {
        let t = IMAPTranscript().loggedIn()
        let message = "Subject: hi\r\n\r\nhello\r\n"
        let first = t.send("a APPEND INBOX (\\Seen \\Flagged $Label) \" 1-Feb-1994 21:52:25 -0800\" {\(message.utf8.count)}\r\n")
        XCTAssertEqual(first.text, "+ Ready for literal data\r\n")
        let step = t.send(message + "\r\n")
        XCTAssertEqual(step.text, "a OK [APPENDUID 1001 1] APPEND completed\r\n")
        XCTAssertEqual(step.operations, [.append(mailbox: "INBOX", message: Array(message.utf8), flags: [.seen, .flagged],
                                                 internalDate: Date(timeIntervalSince1970: 760_168_345))])
    }

    func testAppendWithNonSynchronisingLiteralToTheSelectedMailbox() {
        let t = IMAPTranscript().selected()
        let message = "Subject: hi\r\n\r\nhello\r\n"
        let step = t.send("a APPEND INBOX {\(message.utf8.count)+}\r\n\(message)\r\n")
        XCTAssertEqual(step.lines, ["* 1 EXISTS", "* 0 RECENT", "a OK [APPENDUID 1001 1] APPEND completed"],
                       "no continuation; the selected mailbox hears of the new message")
    }

    func testAppendTooBig() {
        let t = IMAPTranscript { $0.maxLiteralSize = 100 }.loggedIn()
        let sync = t.send("a APPEND INBOX {5000}\r\n")
        XCTAssertEqual(sync.text, "a NO [TOOBIG] Message too large\r\n")
        XCTAssertEqual(sync.limits.count, 1)
        let body = String(repeating: "x", count: 5000)
        let nonSync = t.send("b APPEND INBOX {5000+}\r\n" + body + "\r\nc NOOP\r\n")
        XCTAssertEqual(nonSync.text, "b NO [TOOBIG] Message too large\r\nc OK NOOP completed\r\n",
                       "the literal is skipped, not executed as commands")
        XCTAssertTrue(t.store.boxes["INBOX"]!.messages.isEmpty)
    }

    func testMessageSizedLiteralsNeedALogin() {
        let t = IMAPTranscript(tlsMode: .implicit, tls: imapTestTLS) { $0.maxLineLength = 1000 }
        t.start()
        let step = t.send("a APPEND INBOX {5000}\r\n")
        XCTAssertEqual(step.text, "a BAD Literal too large\r\n", "no continuation for an anonymous upload")
        XCTAssertEqual(t.send("b APPEND INBOX {5+}\r\nhello\r\n").text, "b BAD Not authenticated\r\n")
    }

    func testAppendToMissingMailboxSaysTryCreate() {
        let t = IMAPTranscript().loggedIn()
        XCTAssertEqual(t.send("a APPEND Nope {1+}\r\nx\r\n").text, "a NO [TRYCREATE] Mailbox does not exist\r\n")
    }

    func testCopyAndUIDCopyWithCopyUID() {
        let store = storeWithMail()
        store.boxes["Archive"] = .init(uidValidity: 77)
        let t = IMAPTranscript(store: store).selected()
        XCTAssertEqual(t.send("a COPY 1:2 Archive\r\n").text, "a OK [COPYUID 77 1:2 1:2] COPY completed\r\n")
        XCTAssertEqual(t.send("b UID COPY 3 Archive\r\n").text, "b OK [COPYUID 77 3 3] UID COPY completed\r\n")
        XCTAssertEqual(t.send("c COPY 1 Nope\r\n").text, "c NO [TRYCREATE] Mailbox does not exist\r\n")
        XCTAssertEqual(t.send("d COPY 9 Archive\r\n").text, "d BAD Invalid message sequence number\r\n")
        XCTAssertEqual(t.send("e UID COPY 90:95 Archive\r\n").text, "e OK UID COPY completed, no messages\r\n")
        let copySelf = t.send("f COPY 1 INBOX\r\n")
        XCTAssertEqual(copySelf.lines, ["* 4 EXISTS", "* 1 RECENT", "f OK [COPYUID 1001 1 4] COPY completed"])
    }
}
