import XCTest
@testable import MailProtocols

/// FETCH items, body structure, envelopes, sections, partial fetches and \Seen.
final class IMAPFetchTests: XCTestCase {
    /// INBOX with 1: simple (\Seen), 2: addresses, 3: multipart.
    private func selected(_ command: String = "SELECT INBOX") -> IMAPTranscript {
        let store = IMAPFakeStore()
        store.add(IMAPTestMessages.simple, flags: [.seen])
        store.add(IMAPTestMessages.addresses, recent: true)
        store.add(IMAPTestMessages.multipart)
        return IMAPTranscript(store: store).selected(command)
    }

    func testFlagsUIDInternalDateSize() {
        let t = selected()
        let size = IMAPTestMessages.simple.utf8.count
        let step = t.send("a FETCH 1:2 (FLAGS UID INTERNALDATE RFC822.SIZE)\r\n")
        XCTAssertEqual(step.lines, [
            "* 1 FETCH (FLAGS (\\Seen) UID 1 INTERNALDATE \"29-Nov-2026 05:43:55 +0000\" RFC822.SIZE \(size))",
            "* 2 FETCH (FLAGS (\\Recent) UID 2 INTERNALDATE \"29-Nov-2026 05:43:55 +0000\" RFC822.SIZE \(IMAPTestMessages.addresses.utf8.count))",
            "a OK FETCH completed",
        ])
        XCTAssertEqual(step.operations, [], "no bodies needed")
    }

    func testUIDFetchAlwaysIncludesUIDAndStarRanges() {
        let t = selected()
        XCTAssertEqual(t.send("a UID FETCH 2:* FLAGS\r\n").lines,
                       ["* 2 FETCH (UID 2 FLAGS (\\Recent))", "* 3 FETCH (UID 3 FLAGS ())", "a OK UID FETCH completed"])
        XCTAssertEqual(t.send("b UID FETCH 100:* FLAGS\r\n").lines, ["* 3 FETCH (UID 3 FLAGS ())", "b OK UID FETCH completed"],
                       "n:* includes the last message")
        XCTAssertEqual(t.send("c FETCH 3:1 UID\r\n").lines,
                       ["* 1 FETCH (UID 1)", "* 2 FETCH (UID 2)", "* 3 FETCH (UID 3)", "c OK FETCH completed"])
        XCTAssertEqual(t.send("d FETCH 4 UID\r\n").text, "d BAD Invalid message sequence number\r\n")
        XCTAssertEqual(t.send("e FETCH 1 (FLAGS\r\n").text, "e BAD FETCH unterminated attribute list\r\n")
    }

    func testFetchOnAnEmptyMailbox() {
        let t = IMAPTranscript().selected()
        XCTAssertEqual(t.send("a FETCH 1:* FLAGS\r\n").text, "a OK FETCH completed\r\n")
        XCTAssertEqual(t.send("b UID FETCH 1:* FLAGS\r\n").text, "b OK UID FETCH completed\r\n")
        XCTAssertEqual(t.send("c UID SEARCH ALL\r\n").text, "* SEARCH\r\nc OK UID SEARCH completed\r\n")
    }

    func testEnvelopeWithSeveralAddressesAndGroup() {
        let t = selected()
        let step = t.send("a FETCH 2 ENVELOPE\r\n")
        XCTAssertEqual(step.operations, [.fetchBodies(mailbox: "INBOX", uids: [2])])
        XCTAssertEqual(step.lines, [
            "* 2 FETCH (ENVELOPE (\"Fri, 27 Nov 2026 09:30:00 -0500\" \"=?utf-8?q?Caf=C3=A9?= \\\"plans\\\"\" "
                + "((\"Smith, John\" NIL \"john\" \"example.org\")) "
                + "((NIL NIL \"secretary\" \"example.org\")) "
                + "((\"Smith, John\" NIL \"john\" \"example.org\")) "
                + "((NIL NIL \"alice\" \"contoso.com\")(\"Carol Q\" NIL \"carol\" \"example.net\")(NIL NIL \"dave\" \"example.com\")) "
                + "((NIL NIL \"Team\" NIL)(NIL NIL \"erin\" \"example.org\")(NIL NIL \"frank\" \"example.org\")(NIL NIL NIL NIL)) "
                + "NIL \"<older@example.org>\" \"<many@example.org>\"))",
            "a OK FETCH completed",
        ])
    }

    func testBodyStructureOfMultipartAlternativeWithAttachment() {
        let t = selected()
        let message = IMAPMessage(Array(IMAPTestMessages.multipart.utf8))
        let plain = message.part([1, 1])!
        let html = message.part([1, 2])!
        let pdf = message.part([2])!
        XCTAssertEqual(String(decoding: message.bytes[plain.body], as: UTF8.self), "Hello Alice,\r\nsee the report.")
        let expected = "(((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"utf-8\") NIL NIL \"QUOTED-PRINTABLE\" \(plain.body.count) 2 NIL NIL NIL NIL)"
            + "(\"TEXT\" \"HTML\" (\"CHARSET\" \"utf-8\") NIL NIL \"7BIT\" \(html.body.count) 1 NIL NIL NIL NIL)"
            + " \"ALTERNATIVE\" (\"BOUNDARY\" \"inner\") NIL NIL NIL)"
            + "(\"APPLICATION\" \"PDF\" (\"NAME\" \"report.pdf\") \"<rep1>\" \"Quarterly report\" \"BASE64\" \(pdf.body.count)"
            + " NIL (\"ATTACHMENT\" (\"FILENAME\" \"report.pdf\")) NIL NIL)"
            + " \"MIXED\" (\"BOUNDARY\" \"outer\") NIL NIL NIL)"
        XCTAssertEqual(t.send("a FETCH 3 BODYSTRUCTURE\r\n").lines, ["* 3 FETCH (BODYSTRUCTURE \(expected))", "a OK FETCH completed"])
        let body = "(((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"utf-8\") NIL NIL \"QUOTED-PRINTABLE\" \(plain.body.count) 2)"
            + "(\"TEXT\" \"HTML\" (\"CHARSET\" \"utf-8\") NIL NIL \"7BIT\" \(html.body.count) 1) \"ALTERNATIVE\")"
            + "(\"APPLICATION\" \"PDF\" (\"NAME\" \"report.pdf\") \"<rep1>\" \"Quarterly report\" \"BASE64\" \(pdf.body.count))"
            + " \"MIXED\")"
        XCTAssertEqual(t.send("b FETCH 3 BODY\r\n").lines.first, "* 3 FETCH (BODY \(body))")
    }

    func testBodyStructureOfASinglePartAndAnEncapsulatedMessage() {
        let single = IMAPMessage(Array(IMAPTestMessages.simple.utf8))
        var writer = IMAPResponseWriter()
        single.writeBodyStructure(extended: false, into: &writer)
        XCTAssertEqual(String(decoding: writer.bytes, as: UTF8.self),
                       "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 29 2)")
        let forwarded = IMAPTestMessages.crlf("""
            Subject: Fwd
            Content-Type: message/rfc822

            Subject: inner
            From: x@y.example

            inner body

            """)
        let outer = IMAPMessage(Array(forwarded.utf8))
        var w = IMAPResponseWriter()
        outer.writeBodyStructure(extended: false, into: &w)
        let text = String(decoding: w.bytes, as: UTF8.self)
        XCTAssertTrue(text.hasPrefix("(\"MESSAGE\" \"RFC822\" NIL NIL NIL \"7BIT\" 49 (NIL \"inner\" ((NIL NIL \"x\" \"y.example\"))"), text)
        XCTAssertTrue(text.hasSuffix("(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 12 1) 4)"), text)
        XCTAssertEqual(IMAPSession.sectionData(IMAPSectionSpec(part: [1], text: .header), of: outer),
                       Array("Subject: inner\r\nFrom: x@y.example\r\n\r\n".utf8))
        XCTAssertEqual(IMAPSession.sectionData(IMAPSectionSpec(part: [1, 1], text: nil), of: outer), Array("inner body\r\n".utf8))
    }

    func testSectionsAndLiterals() {
        let t = selected()
        let header = "From: Bob Example <bob@example.org>\r\nTo: alice@contoso.com\r\nSubject: Lunch\r\n"
            + "Date: Sat, 28 Nov 2026 12:00:00 +0000\r\nMessage-ID: <lunch@example.org>\r\n\r\n"
        XCTAssertEqual(t.send("a FETCH 1 BODY.PEEK[HEADER]\r\n").text,
                       "* 1 FETCH (BODY[HEADER] {\(header.utf8.count)}\r\n\(header))\r\na OK FETCH completed\r\n")
        XCTAssertEqual(t.send("b FETCH 1 BODY.PEEK[HEADER.FIELDS (Subject from)]\r\n").text,
                       "* 1 FETCH (BODY[HEADER.FIELDS (Subject from)] {55}\r\nFrom: Bob Example <bob@example.org>\r\nSubject: Lunch\r\n\r\n)\r\nb OK FETCH completed\r\n")
        XCTAssertTrue(t.send("c FETCH 1 BODY.PEEK[HEADER.FIELDS.NOT (From To Subject Date)]\r\n").text
            .contains("{35}\r\nMessage-ID: <lunch@example.org>\r\n\r\n)"))
        XCTAssertEqual(t.send("d FETCH 1 BODY.PEEK[TEXT]\r\n").lines[0], "* 1 FETCH (BODY[TEXT] {29}")
        XCTAssertTrue(t.send("e FETCH 3 BODY.PEEK[1.2]\r\n").text.contains("BODY[1.2] {18}\r\n<p>Hello Alice</p>)"))
        XCTAssertTrue(t.send("f FETCH 3 BODY.PEEK[2.MIME]\r\n").text.contains("Content-Type: application/pdf; name=\"report.pdf\"\r\n"))
        XCTAssertTrue(t.send("g FETCH 3 BODY.PEEK[2]\r\n").text.contains("BODY[2] {12}\r\nJVBERi0xLjQK)"))
        XCTAssertTrue(t.send("h FETCH 1 BODY.PEEK[1]\r\n").text.contains("BODY[1] {29}\r\nShall we meet at noon?\r\nBob\r\n)"))
        XCTAssertTrue(t.send("i FETCH 1 BODY.PEEK[9]\r\n").text.contains("BODY[9] {0}\r\n)"))
        let full = t.send("j FETCH 1 RFC822.HEADER\r\n").text
        XCTAssertTrue(full.hasPrefix("* 1 FETCH (RFC822.HEADER {\(header.utf8.count)}\r\nFrom:"))
    }

    func testPartialFetch() {
        let t = selected()
        XCTAssertEqual(t.send("a FETCH 1 BODY.PEEK[TEXT]<6.8>\r\n").text,
                       "* 1 FETCH (BODY[TEXT]<6> {8}\r\nwe meet )\r\na OK FETCH completed\r\n")
        XCTAssertEqual(t.send("b FETCH 1 BODY.PEEK[TEXT]<1000.10>\r\n").lines.first, "* 1 FETCH (BODY[TEXT]<1000> {0}")
    }

    func testBodyFetchSetsSeenButPeekDoesNot() {
        let t = selected()
        let peek = t.send("a FETCH 2 BODY.PEEK[]\r\n")
        XCTAssertEqual(peek.operations, [.fetchBodies(mailbox: "INBOX", uids: [2])])
        XCTAssertFalse(peek.text.contains("FLAGS"))
        XCTAssertEqual(t.store.flags(2), [])

        let step = t.send("b FETCH 2 BODY[]\r\n")
        XCTAssertEqual(step.operations, [.setFlags(mailbox: "INBOX", changes: [2: [.seen]]),
                                         .fetchBodies(mailbox: "INBOX", uids: [2])])
        let size = IMAPTestMessages.addresses.utf8.count
        XCTAssertTrue(step.text.hasPrefix("* 2 FETCH (BODY[] {\(size)}\r\nFrom: \"Smith, John\""))
        XCTAssertTrue(step.text.hasSuffix(" FLAGS (\\Seen \\Recent))\r\nb OK FETCH completed\r\n"))
        XCTAssertEqual(t.store.flags(2), [.seen])
        XCTAssertEqual(t.send("c FETCH 2 RFC822\r\n").operations, [.fetchBodies(mailbox: "INBOX", uids: [2])],
                       "already seen: no second setFlags")
    }

    func testMacrosAndAllItems() {
        let t = selected()
        let all = t.send("a FETCH 1 ALL\r\n").lines.first ?? ""
        XCTAssertTrue(all.hasPrefix("* 1 FETCH (FLAGS (\\Seen) INTERNALDATE \"29-Nov-2026 05:43:55 +0000\" RFC822.SIZE \(IMAPTestMessages.simple.utf8.count) ENVELOPE (\"Sat, 28 Nov 2026"), all)
        let full = t.send("b FETCH 1 FULL\r\n").lines.first ?? ""
        XCTAssertTrue(full.hasSuffix("BODY (\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 29 2))"), full)
        XCTAssertTrue(t.send("c FETCH 1 FAST\r\n").lines.first!.hasSuffix("RFC822.SIZE \(IMAPTestMessages.simple.utf8.count))"))
    }

    func testEightBitHeadersUseLiterals() {
        let store = IMAPFakeStore()
        store.add("Subject: Caf\u{e9}\r\nFrom: a@b.example\r\n\r\nx\r\n")
        let t = IMAPTranscript(store: store).selected()
        XCTAssertTrue(t.send("a FETCH 1 ENVELOPE\r\n").text.contains("(NIL {5}\r\nCaf\u{e9} ((NIL NIL \"a\" \"b.example\"))"))
    }

    func testLargeFetchesAreChunked() {
        let store = IMAPFakeStore()
        for _ in 0..<150 { store.add(IMAPTestMessages.simple, flags: [.seen]) }
        let t = IMAPTranscript(store: store).selected()
        let step = t.send("a FETCH 1:* BODY[]\r\n")
        XCTAssertEqual(step.operations.count, 3, "64 + 64 + 22 messages, one request at a time")
        XCTAssertEqual(step.lines.filter { $0.hasSuffix("FETCH (BODY[] {\(IMAPTestMessages.simple.utf8.count)}") }.count, 150)
        XCTAssertEqual(step.lines.last, "a OK FETCH completed")
    }
}
