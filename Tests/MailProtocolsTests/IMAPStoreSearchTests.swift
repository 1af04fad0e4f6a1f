import XCTest
@testable import MailProtocols

/// STORE, SEARCH, EXPUNGE (plain and UID), CLOSE, IDLE and mailbox updates.
final class IMAPStoreSearchTests: XCTestCase {
    /// INBOX with 1: simple (\Seen, 29 Nov), 2: addresses (recent, 28 Nov), 3: multipart (\Seen \Flagged, 27 Nov).
    private func selected() -> IMAPTranscript {
        let store = IMAPFakeStore()
        let day: TimeInterval = 86_400
        store.add(IMAPTestMessages.simple, flags: [.seen], date: imapTestDate)
        store.add(IMAPTestMessages.addresses, date: imapTestDate - day, recent: true)
        store.add(IMAPTestMessages.multipart, flags: [.seen, .flagged], date: imapTestDate - 2 * day)
        return IMAPTranscript(store: store).selected()
    }

    func testStoreVariants() {
        let t = selected()
        XCTAssertEqual(t.send("a STORE 1 +FLAGS (\\Flagged)\r\n").lines,
                       ["* 1 FETCH (FLAGS (\\Seen \\Flagged))", "a OK STORE completed"])
        XCTAssertEqual(t.store.flags(1), [.seen, .flagged])
        XCTAssertEqual(t.send("b STORE 1:2 -FLAGS.SILENT (\\Seen)\r\n").lines, ["b OK STORE completed"])
        XCTAssertEqual(t.store.flags(1), [.flagged])
        XCTAssertEqual(t.send("c STORE 2 FLAGS \\Answered $Junk\r\n").lines,
                       ["* 2 FETCH (FLAGS (\\Answered \\Recent))", "c OK STORE completed"], "keywords are ignored")
        XCTAssertEqual(t.send("d UID STORE 3 FLAGS.SILENT ()\r\n").lines, ["d OK UID STORE completed"])
        XCTAssertEqual(t.store.flags(3), [])
        XCTAssertEqual(t.send("e UID STORE 1:* +FLAGS (\\Deleted)\r\n").lines, [
            "* 1 FETCH (UID 1 FLAGS (\\Flagged \\Deleted))", "* 2 FETCH (UID 2 FLAGS (\\Answered \\Deleted \\Recent))",
            "* 3 FETCH (UID 3 FLAGS (\\Deleted))", "e OK UID STORE completed",
        ])
        XCTAssertEqual(t.send("f STORE 1 REPLACE (\\Seen)\r\n").text, "f BAD STORE invalid data item\r\n")
        XCTAssertEqual(t.send("g STORE 1 +FLAGS (\\Seen\r\n").text, "g BAD STORE unterminated flag list\r\n")
    }

    func testSearchFlagsDatesSizesAndSets() {
        let t = selected()
        XCTAssertEqual(t.send("a SEARCH ALL\r\n").lines, ["* SEARCH 1 2 3", "a OK SEARCH completed"])
        XCTAssertEqual(t.send("b SEARCH UNSEEN\r\n").lines.first, "* SEARCH 2")
        XCTAssertEqual(t.send("c SEARCH SEEN NOT FLAGGED\r\n").lines.first, "* SEARCH 1")
        XCTAssertEqual(t.send("d SEARCH OR FLAGGED RECENT\r\n").lines.first, "* SEARCH 2 3")
        XCTAssertEqual(t.send("e SEARCH NEW\r\n").lines.first, "* SEARCH 2")
        XCTAssertEqual(t.send("f SEARCH SINCE 28-Nov-2026\r\n").lines.first, "* SEARCH 1 2")
        XCTAssertEqual(t.send("g SEARCH BEFORE 28-Nov-2026\r\n").lines.first, "* SEARCH 3")
        XCTAssertEqual(t.send("h SEARCH ON 28-Nov-2026\r\n").lines.first, "* SEARCH 2")
        XCTAssertEqual(t.send("i SEARCH LARGER 500\r\n").lines.first, "* SEARCH 3")
        XCTAssertEqual(t.send("j SEARCH 2:* NOT 3\r\n").lines.first, "* SEARCH 2")
        XCTAssertEqual(t.send("k UID SEARCH UID 2:3 (SEEN)\r\n").lines, ["* SEARCH 3", "k OK UID SEARCH completed"])
        XCTAssertEqual(t.send("l SEARCH CHARSET UTF-8 ALL\r\n").lines.first, "* SEARCH 1 2 3")
        XCTAssertEqual(t.send("m SEARCH CHARSET KOI8-R ALL\r\n").text, "m NO [BADCHARSET (UTF-8 US-ASCII)] Unsupported charset\r\n")
        XCTAssertEqual(t.send("n SEARCH FOO\r\n").text, "n BAD SEARCH unknown search key\r\n")
        XCTAssertEqual(t.send("o SEARCH ANSWERED\r\n").lines.first, "* SEARCH")
    }

    func testSearchHeadersAndBodiesFetchTheMessages() {
        let t = selected()
        let step = t.send("a SEARCH FROM bob\r\n")
        XCTAssertEqual(step.operations, [.fetchBodies(mailbox: "INBOX", uids: [1, 2, 3])])
        XCTAssertEqual(step.lines.first, "* SEARCH 1")
        XCTAssertEqual(t.send("b SEARCH TO carol\r\n").lines.first, "* SEARCH 2")
        XCTAssertEqual(t.send("c SEARCH CC FRANK SUBJECT plans\r\n").lines.first, "* SEARCH 2")
        XCTAssertEqual(t.send("d SEARCH BODY zebra\r\n").lines.first, "* SEARCH 2")
        XCTAssertEqual(t.send("e SEARCH TEXT \"Report attached\"\r\n").lines.first, "* SEARCH 3")
        XCTAssertEqual(t.send("f SEARCH HEADER Message-ID lunch\r\n").lines.first, "* SEARCH 1")
        XCTAssertEqual(t.send("g UID SEARCH OR BODY zebra FROM carol\r\n").lines.first, "* SEARCH 2 3")
        XCTAssertEqual(t.send("h SEARCH SENTBEFORE 27-Nov-2026\r\n").lines.first, "* SEARCH 3")
        XCTAssertEqual(t.send("i SEARCH SENTON 27-Nov-2026\r\n").lines.first, "* SEARCH 2")
        XCTAssertEqual(t.send("j SEARCH SUBJECT {5}\r\n").text, "+ Ready for literal data\r\n")
        XCTAssertEqual(t.send("LUNCH\r\n").lines.first, "* SEARCH 1")
    }

    func testExpungeNumbering() {
        let store = IMAPFakeStore()
        for index in 1...5 { store.add(IMAPTestMessages.simple, flags: index % 2 == 1 ? [.deleted] : []) }
        let t = IMAPTranscript(store: store).selected()
        let step = t.send("a EXPUNGE\r\n")
        XCTAssertEqual(step.operations, [.expunge(mailbox: "INBOX", uids: nil)])
        XCTAssertEqual(step.lines, ["* 5 EXPUNGE", "* 3 EXPUNGE", "* 1 EXPUNGE", "a OK EXPUNGE completed"])
        XCTAssertEqual(t.send("b FETCH 1:* UID\r\n").lines, ["* 1 FETCH (UID 2)", "* 2 FETCH (UID 4)", "b OK FETCH completed"])
    }

    func testUIDExpungeOnlyTouchesTheGivenUIDs() {
        let store = IMAPFakeStore()
        for _ in 1...3 { store.add(IMAPTestMessages.simple, flags: [.deleted]) }
        let t = IMAPTranscript(store: store).selected()
        let step = t.send("a UID EXPUNGE 2:3\r\n")
        XCTAssertEqual(step.operations, [.expunge(mailbox: "INBOX", uids: [2, 3])])
        XCTAssertEqual(step.lines, ["* 3 EXPUNGE", "* 2 EXPUNGE", "a OK UID EXPUNGE completed"])
        XCTAssertEqual(t.store.boxes["INBOX"]?.messages.map(\.summary.uid), [1])
    }

    func testCloseExpungesSilentlyAndUnselectDoesNot() {
        let store = IMAPFakeStore()
        store.add(IMAPTestMessages.simple, flags: [.deleted])
        let t = IMAPTranscript(store: store).selected()
        XCTAssertEqual(t.send("a CLOSE\r\n").lines, ["a OK CLOSE completed"])
        XCTAssertTrue(t.store.boxes["INBOX"]!.messages.isEmpty)
        XCTAssertNil(t.session.selectedMailbox)
        store.add(IMAPTestMessages.simple, flags: [.deleted])
        t.send("b SELECT INBOX\r\n")
        XCTAssertEqual(t.send("c UNSELECT\r\n").lines, ["c OK UNSELECT completed"])
        XCTAssertEqual(t.store.boxes["INBOX"]!.messages.count, 1)
        XCTAssertEqual(t.send("d EXPUNGE\r\n").text, "d BAD No mailbox selected\r\n")
    }

    func testIdleReportsNewMailAndEndsWithDone() {
        let t = selected()
        let start = t.send("a IDLE\r\n")
        XCTAssertEqual(start.actions, [.send(Array("+ idling\r\n".utf8)), .idle(true)])
        XCTAssertTrue(t.session.isIdling)
        t.store.add(IMAPTestMessages.simple, recent: true)
        let update = t.refresh()
        XCTAssertEqual(update.operations, [.snapshot(mailbox: "INBOX")])
        XCTAssertEqual(update.lines, ["* 4 EXISTS", "* 2 RECENT"])
        XCTAssertTrue(t.session.isIdling)
        let done = t.send("DONE\r\n")
        XCTAssertEqual(done.actions, [.idle(false), .send(Array("a OK IDLE terminated\r\n".utf8))])
        XCTAssertFalse(t.session.isIdling)
        XCTAssertEqual(t.send("b IDLE\r\n").others, [.idle(true)])
        XCTAssertEqual(t.send("bogus\r\n").text, "b BAD Expected DONE\r\n")
    }

    func testIdleReportsExpungesAndFlagChanges() {
        let t = selected()
        t.send("a IDLE\r\n")
        t.store.boxes["INBOX"]!.messages.remove(at: 0)
        t.store.boxes["INBOX"]!.messages[1].summary.flags = [.seen]
        XCTAssertEqual(t.refresh().lines, ["* 1 EXPUNGE", "* 2 FETCH (FLAGS (\\Seen))"])
        XCTAssertEqual(t.session.selectedMailbox, "INBOX")
    }

    func testUpdatesBetweenCommandsWaitForACommandThatMayCarryThem() {
        let t = selected()
        t.store.boxes["INBOX"]!.messages.remove(at: 2)
        t.store.add(IMAPTestMessages.simple)
        XCTAssertEqual(t.refresh().text, "", "nothing unsolicited between commands")
        XCTAssertEqual(t.send("a FETCH 1 FLAGS\r\n").lines,
                       ["* 1 FETCH (FLAGS (\\Seen))", "* 4 EXISTS", "* 1 RECENT", "a OK FETCH completed"],
                       "no EXPUNGE during FETCH, but EXISTS is fine")
        XCTAssertEqual(t.send("b NOOP\r\n").lines, ["* 3 EXPUNGE", "b OK NOOP completed"])
        XCTAssertEqual(t.send("c FETCH 1:* UID\r\n").lines.count, 4)
    }

    func testNoopPollsTheStore() {
        let t = selected()
        t.store.add(IMAPTestMessages.simple)
        let step = t.send("a NOOP\r\n")
        XCTAssertEqual(step.operations, [.snapshot(mailbox: "INBOX")])
        XCTAssertEqual(step.lines, ["* 4 EXISTS", "* 1 RECENT", "a OK NOOP completed"])
    }

    func testCommandsWaitForTheStoreOneRequestAtATime() {
        let t = selected()
        t.automatic = false
        let step = t.send("a FETCH 2 BODY[]\r\nb NOOP\r\n")
        XCTAssertEqual(step.actions, [.mailbox(.setFlags(mailbox: "INBOX", changes: [2: [.seen]]))])
        let next = t.storeDone(.done)
        XCTAssertEqual(next.actions, [.mailbox(.fetchBodies(mailbox: "INBOX", uids: [2]))])
        XCTAssertEqual(t.refresh().actions, [], "refresh waits while a command runs")
        let bodies = t.storeDone(.bodies([2: Array("Subject: x\r\n\r\nbody\r\n".utf8)]))
        XCTAssertTrue(bodies.text.hasSuffix("a OK FETCH completed\r\n"))
        XCTAssertEqual(bodies.operations, [.snapshot(mailbox: "INBOX")], "then NOOP runs")
    }
}
