import XCTest
@testable import MailProtocols

/// Tokens, framing, sequence sets, FETCH items and SEARCH keys.
final class IMAPParserTests: XCTestCase {
    private func parser(_ text: String) -> IMAPParser { IMAPParser(Array(text.utf8)) }

    func testAtomsQuotedStringsAndLiterals() throws {
        var p = parser("a1 LOGIN alice \"s3 \\\"cr\\\\et\" {5}\r\nhello")
        XCTAssertEqual(try p.tag(), "a1")
        try p.space()
        XCTAssertEqual(try p.keyword(), "LOGIN")
        try p.space()
        XCTAssertEqual(try p.astringText(), "alice")
        try p.space()
        XCTAssertEqual(String(decoding: try p.astring(), as: UTF8.self), "s3 \"cr\\et")
        try p.space()
        XCTAssertEqual(String(decoding: try p.astring(), as: UTF8.self), "hello")
        XCTAssertNoThrow(try p.end())
    }

    func testNonSynchronisingLiteralAndNIL() throws {
        var p = parser("{3+}\r\nabc NIL")
        XCTAssertEqual(try p.string(), Array("abc".utf8))
        try p.space()
        XCTAssertNil(try p.nstring())
    }

    func testMalformedTokensThrow() {
        var unterminated = parser("\"abc")
        XCTAssertThrowsError(try unterminated.quoted())
        var badEscape = parser("\"a\\b\"")
        XCTAssertThrowsError(try badEscape.quoted())
        var truncated = parser("{10}\r\nabc")
        XCTAssertThrowsError(try truncated.literal())
        var noTag = parser("* LOGIN")
        XCTAssertThrowsError(try noTag.tag())
        var extra = parser("x")
        XCTAssertThrowsError(try extra.end())
    }

    func testMailboxNamesAndINBOX() throws {
        var p = parser("inbox \"Sent Items\" &AMk-t&AOk-")
        XCTAssertEqual(try p.mailbox(), "INBOX")
        try p.space()
        XCTAssertEqual(try p.mailbox(), "Sent Items")
        try p.space()
        XCTAssertEqual(try p.mailbox(), "&AMk-t&AOk-", "modified UTF-7 passes through")
    }

    func testSequenceSets() throws {
        var p = parser("1,3:5,7:*")
        let set = try p.sequenceSet()
        XCTAssertEqual(set.resolved(largest: 9), [1...1, 3...5, 7...9])
        var reversed = parser("3:1")
        XCTAssertEqual(try reversed.sequenceSet().resolved(largest: 5), [1...3])
        var star = parser("*")
        let starSet = try star.sequenceSet()
        XCTAssertEqual(starSet.resolved(largest: 4), [4...4])
        XCTAssertEqual(starSet.resolved(largest: 0), [], "* in an empty mailbox is nothing")
        var beyond = parser("100:*")
        XCTAssertTrue(try beyond.sequenceSet().contains(42, largest: 42), "n:* includes the last UID")
        var zero = parser("0:3")
        XCTAssertThrowsError(try zero.sequenceSet())
        var junk = parser("a:b")
        XCTAssertThrowsError(try junk.sequenceSet())
        XCTAssertEqual(IMAPSequenceSet.text([1, 2, 3, 5, 7, 8]), "1:3,5,7:8")
    }

    func testFetchAttributeLists() throws {
        var p = parser("(FLAGS UID BODY.PEEK[HEADER.FIELDS (From Subject)] BODY[1.2]<0.100> RFC822.SIZE)")
        let items = try IMAPFetchRequest.parse(&p)
        XCTAssertEqual(items, [
            .flags, .uid,
            .section(IMAPSectionSpec(part: [], text: .headerFields(["From", "Subject"])), peek: true, partial: nil),
            .section(IMAPSectionSpec(part: [1, 2], text: nil), peek: false, partial: IMAPPartial(start: 0, count: 100)),
            .rfc822Size,
        ])
        var macro = parser("FAST")
        XCTAssertEqual(try IMAPFetchRequest.parse(&macro), [.flags, .internalDate, .rfc822Size])
        var mime = parser("BODY[2.MIME]")
        XCTAssertEqual(try IMAPFetchRequest.parse(&mime), [.section(IMAPSectionSpec(part: [2], text: .mime), peek: false, partial: nil)])
        XCTAssertEqual(IMAPSectionSpec(part: [1], text: .headerFieldsNot(["To"])).label, "1.HEADER.FIELDS.NOT (To)")
        for bad in ["(FLAGS", "BODY[", "BODY[MIME]", "BODY.PEEK", "NONSENSE", "()", "BODY[]<5>"] {
            var q = parser(bad)
            XCTAssertThrowsError(try IMAPFetchRequest.parse(&q), bad)
        }
    }

    func testSearchKeyTrees() throws {
        var p = parser("OR FROM bob (UNSEEN SINCE 1-Nov-2026) NOT DELETED 2:4 UID 10:*")
        let key = try IMAPSearchKey.parseProgram(&p)
        let since = IMAPDateFormat.dayNumber(year: 2026, month: 11, day: 1)
        XCTAssertEqual(key, .and([
            .or(.header("FROM", Array("bob".utf8)), .and([.flag(.seen, set: false), .since(since)])),
            .not(.flag(.deleted, set: true)),
            .sequence(IMAPSequenceSet(ranges: [.init(first: .number(2), last: .number(4))])),
            .uid(IMAPSequenceSet(ranges: [.init(first: .number(10), last: .star)])),
        ]))
        XCTAssertTrue(key.needsMessage)
        var plain = parser("HEADER X-Spam \"yes\" LARGER 100")
        XCTAssertEqual(try IMAPSearchKey.parseProgram(&plain), .and([.header("X-Spam", Array("yes".utf8)), .larger(100)]))
        for bad in ["", "FOO", "OR SEEN", "SINCE 32-Nov-2026", "(SEEN", "LARGER x"] {
            var q = parser(bad)
            XCTAssertThrowsError(try IMAPSearchKey.parseProgram(&q), bad)
        }
        var deep = parser(String(repeating: "NOT ", count: 200) + "SEEN")
        XCTAssertThrowsError(try IMAPSearchKey.parseProgram(&deep), "nesting is bounded")
    }

    func testDates() {
        XCTAssertEqual(IMAPDateFormat.internalDate(imapTestDate), "29-Nov-2026 05:43:55 +0000")
        XCTAssertEqual(IMAPDateFormat.parseDateTime(" 1-Feb-1994 21:52:25 -0800"),
                       Date(timeIntervalSince1970: 760_168_345))
        XCTAssertEqual(IMAPDateFormat.parseDate("29-nov-2026"), IMAPDateFormat.day(of: imapTestDate))
        XCTAssertNil(IMAPDateFormat.parseDate("29-Foo-2026"))
        XCTAssertEqual(IMAPDateFormat.sentDay("Fri, 27 Nov 2026 09:30:00 -0500"),
                       IMAPDateFormat.dayNumber(year: 2026, month: 11, day: 27))
    }

    func testFramerJoinsLiteralsAndAsksForContinuation() {
        var framer = IMAPCommandFramer()
        var buffer = SessionInputBuffer()
        buffer.append(Array("a LOGIN {5}\r\n".utf8))
        XCTAssertEqual(framer.nextEvent(in: &buffer, lineLimit: 1000, appendLiteralLimit: 10_000), .continuationNeeded)
        XCTAssertNil(framer.nextEvent(in: &buffer, lineLimit: 1000, appendLiteralLimit: 10_000))
        buffer.append(Array("alice {6+}\r\ns3cret\r\n".utf8))
        XCTAssertEqual(framer.nextEvent(in: &buffer, lineLimit: 1000, appendLiteralLimit: 10_000),
                       .command(Array("a LOGIN {5}\r\nalice {6+}\r\ns3cret".utf8)))
    }

    func testFramerRejectsLargeLiteralsAndSkipsNonSynchronisingOnes() {
        var framer = IMAPCommandFramer()
        var buffer = SessionInputBuffer()
        buffer.append(Array("a APPEND INBOX {50+}\r\n".utf8) + [UInt8](repeating: 0x41, count: 50) + Array("\r\nb NOOP\r\n".utf8))
        XCTAssertEqual(framer.nextEvent(in: &buffer, lineLimit: 1000, appendLiteralLimit: 10),
                       .literalTooLarge(tag: "a", append: true))
        XCTAssertEqual(framer.nextEvent(in: &buffer, lineLimit: 1000, appendLiteralLimit: 10), .command(Array("b NOOP".utf8)))
        buffer.append(Array("c LOGIN {2000}\r\n".utf8))
        XCTAssertEqual(framer.nextEvent(in: &buffer, lineLimit: 1000, appendLiteralLimit: 1_000_000),
                       .literalTooLarge(tag: "c", append: false), "non-APPEND literals are capped at the line limit")
    }

    func testFramerDropsOverlongLinesWithoutBuffering() {
        var framer = IMAPCommandFramer()
        var buffer = SessionInputBuffer()
        for _ in 0..<10 {
            buffer.append([UInt8](repeating: 0x78, count: 500))
            XCTAssertNil(framer.nextEvent(in: &buffer, lineLimit: 1000, appendLiteralLimit: 10))
            XCTAssertLessThanOrEqual(buffer.unreadCount, 1000)
        }
        buffer.append(Array("\r\nz NOOP\r\n".utf8))
        XCTAssertEqual(framer.nextEvent(in: &buffer, lineLimit: 1000, appendLiteralLimit: 10), .lineTooLong)
        XCTAssertEqual(framer.nextEvent(in: &buffer, lineLimit: 1000, appendLiteralLimit: 10), .command(Array("z NOOP".utf8)))
    }

    func testMangledMessagesAndArgumentsNeverCrash() {
        var random = IMAPTestRandom(seed: 42)
        let original = Array(IMAPTestMessages.multipart.utf8)
        let specs: [IMAPSectionSpec] = [
            IMAPSectionSpec(), IMAPSectionSpec(part: [1, 1]), IMAPSectionSpec(part: [2], text: .mime),
            IMAPSectionSpec(part: [1], text: .header), IMAPSectionSpec(part: [], text: .headerFields(["From"])),
        ]
        for _ in 0..<400 {
            var bytes = original
            for _ in 0..<(random.next() % 40) {
                let index = Int(random.next() % UInt64(bytes.count))
                switch random.next() % 3 {
                case 0: bytes[index] = UInt8(truncatingIfNeeded: random.next())
                case 1: bytes.remove(at: index)
                default: bytes.insert(Array("\r\n--\"();:<>@,".utf8)[Int(random.next() % 12)], at: index)
                }
            }
            let message = IMAPMessage(bytes)
            var writer = IMAPResponseWriter()
            message.writeBodyStructure(extended: true, into: &writer)
            message.writeEnvelope(into: &writer)
            for spec in specs { _ = IMAPSession.sectionData(spec, of: message) }
            let tokens = Array(bytes[0..<min(bytes.count, Int(random.next() % 80))])
            var fetch = IMAPParser(tokens)
            _ = try? IMAPFetchRequest.parse(&fetch)
            var search = IMAPParser(tokens)
            _ = try? IMAPSearchKey.parseProgram(&search)
            var set = IMAPParser(tokens)
            _ = try? set.sequenceSet()
        }
    }

    func testMIMENestingIsBounded() {
        var text = "Subject: deep\r\n"
        for level in 0..<200 {
            text += "Content-Type: multipart/mixed; boundary=b\(level)\r\n\r\n--b\(level)\r\n"
        }
        text += "\r\nleaf\r\n"
        let message = IMAPMessage(Array(text.utf8))
        var writer = IMAPResponseWriter()
        message.writeBodyStructure(extended: true, into: &writer)
        let structure = String(decoding: writer.bytes, as: UTF8.self)
        XCTAssertEqual(structure.components(separatedBy: "\"MIXED\"").count - 1, IMAPMessage.maxDepth + 1)
    }

    func testListPatterns() {
        XCTAssertTrue(IMAPSession.listMatches("INBOX", "*"))
        XCTAssertTrue(IMAPSession.listMatches("INBOX", "inbox"))
        XCTAssertTrue(IMAPSession.listMatches("Archive/2026", "Archive/*"))
        XCTAssertTrue(IMAPSession.listMatches("Archive/2026", "*/2026"))
        XCTAssertFalse(IMAPSession.listMatches("Archive/2026", "%"))
        XCTAssertTrue(IMAPSession.listMatches("Archive", "%"))
        XCTAssertTrue(IMAPSession.listMatches("Archive/2026", "Archive/%"))
        XCTAssertFalse(IMAPSession.listMatches("Archive/2026/Q1", "Archive/%"))
        XCTAssertFalse(IMAPSession.listMatches("Sent", "S%x"))
    }
}
