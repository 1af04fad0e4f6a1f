import XCTest
@testable import MailProtocols

/// Unit tests of the pure helpers behind the session: address syntax, paths,
/// parameters, base64 and PLAIN.
final class SMTPParserTests: XCTestCase {
    func testMailboxSyntax() {
        for good in ["a@example.org", "first.last+tag@sub.example.co.uk", "\"john doe\"@example.org",
                     "\"a\\\"b\"@example.org", "x@[192.0.2.1]", "x@[IPv6:2001:db8::1]", "o'brien@example.ie",
                     "a@localhost"] {
            XCTAssertTrue(SMTPAddressSyntax.isValidMailbox(good), good)
        }
        for bad in ["", "a", "@example.org", "a@", ".a@example.org", "a.@example.org", "a..b@example.org",
                    "a b@example.org", "a@exa_mple.org", "a@example..org", "a@-x.org", "a@x-.org",
                    "a@[300.1.1.1]", "a@[1.2.3]", "\"unterminated@example.org",
                    String(repeating: "l", count: 65) + "@example.org",
                    "a@" + String(repeating: "d", count: 64) + ".org", "ü@example.org"] {
            XCTAssertFalse(SMTPAddressSyntax.isValidMailbox(bad), bad)
        }
    }

    func testPathWithQuotedClosingBracket() {
        XCTAssertEqual(SMTPCommandParser.parsePath("FROM:<\"a>b\"@example.org> SIZE=5", keyword: "FROM:",
                                                   allowNull: true, allowPostmaster: false),
                       .path(address: "\"a>b\"@example.org", parameters: [SMTPParameter(keyword: "SIZE", value: "5")]))
    }

    func testSourceRouteWithoutColonIsBad() {
        XCTAssertEqual(SMTPCommandParser.parsePath("TO:<@a.example>", keyword: "TO:", allowNull: false,
                                                   allowPostmaster: true), .badAddress)
    }

    func testParameters() {
        XCTAssertEqual(SMTPCommandParser.parseParameters(" size=10  body=8bitmime X-FLAG"),
                       [SMTPParameter(keyword: "SIZE", value: "10"), SMTPParameter(keyword: "BODY", value: "8bitmime"),
                        SMTPParameter(keyword: "X-FLAG", value: nil)])
        XCTAssertNil(SMTPCommandParser.parseParameters("=5"))
        XCTAssertEqual(SMTPCommandParser.parseSize("999999999999999999999999999"), Int.max)
        XCTAssertEqual(SMTPCommandParser.parseSize("42"), 42)
        XCTAssertNil(SMTPCommandParser.parseSize("-1"))
        XCTAssertNil(SMTPCommandParser.parseSize(nil))
    }

    func testCommandSplitting() {
        XCTAssertEqual(try SMTPCommandParser.parse("mail FROM:<a@b.c>  ".bytes).get(),
                       SMTPCommandLine(verb: "MAIL", argument: "FROM:<a@b.c>"))
        XCTAssertEqual(try SMTPCommandParser.parse("QUIT".bytes).get(), SMTPCommandLine(verb: "QUIT", argument: ""))
        XCTAssertEqual(SMTPCommandParser.parse([0x51, 0x00]), .failure(.invalidCharacter))
    }

    func testBase64() {
        XCTAssertEqual(SMTPSASL.decodeBase64("YWxpY2U=".bytes), "alice".bytes)
        XCTAssertEqual(SMTPSASL.decodeBase64("YWxpY2U".bytes), "alice".bytes, "padding may be omitted")
        XCTAssertEqual(SMTPSASL.decodeBase64("".bytes), [])
        XCTAssertEqual(SMTPSASL.decodeResponse("=".bytes), [])
        XCTAssertNil(SMTPSASL.decodeBase64("YWxpY2U==".bytes))
        XCTAssertNil(SMTPSASL.decodeBase64("Y".bytes))
        XCTAssertNil(SMTPSASL.decodeBase64("YW=x".bytes))
        XCTAssertNil(SMTPSASL.decodeBase64("YW x".bytes))
        for length in 0..<40 {
            let data = Data((0..<length).map { UInt8(truncatingIfNeeded: $0 &* 37) })
            XCTAssertEqual(SMTPSASL.decodeBase64(data.base64EncodedString().bytes), Array(data))
        }
    }

    func testPlainMessage() {
        XCTAssertEqual(SMTPSASL.parsePlain("\0alice\0pw".bytes), .success(.init(username: "alice", password: "pw")))
        XCTAssertEqual(SMTPSASL.parsePlain("alice\0alice\0pw".bytes), .success(.init(username: "alice", password: "pw")))
        XCTAssertEqual(SMTPSASL.parsePlain("bob\0alice\0pw".bytes), .failure(.authzidMismatch))
        XCTAssertEqual(SMTPSASL.parsePlain("\0\0pw".bytes), .failure(.malformed))
        XCTAssertEqual(SMTPSASL.parsePlain("alice\0pw".bytes), .failure(.malformed))
        XCTAssertEqual(SMTPSASL.parsePlain("\0alice\0p\0w".bytes), .failure(.malformed))
        XCTAssertEqual(SMTPSASL.parsePlain([0, 0xFF, 0, 0x41]), .failure(.malformed))
    }

    func testFuzzedInputNeverTraps() {
        var generator = SystemRandomNumberGenerator()
        let alphabet = "MAIL FROM:<>@RCPT TO:DATA\r\n.AUTH PLAIN LOGIN=SIZE999STARTTLS EHLO *".bytes + [0, 0xFF, 0x0A]
        for _ in 0..<200 {
            let t = SMTPTranscript(role: .submission, tlsMode: .starttls) {
                $0.allowPlaintextAuth = true
                $0.maxErrors = 1000
                $0.maxLineLength = 64
            }.greeted()
            for _ in 0..<20 {
                let chunk = (0..<Int.random(in: 1...40, using: &generator)).map { _ in
                    alphabet[Int.random(in: 0..<alphabet.count, using: &generator)]
                }
                for action in t.sendBytes(chunk).actions {
                    switch action {
                    case .verifyRecipient: t.verdict(.local)
                    case .authenticate: t.auth(Bool.random(using: &generator))
                    case .deliver: t.delivery(.queued(id: "F"))
                    case .startTLS: t.tlsUp()
                    default: break
                    }
                }
            }
        }
    }
}
