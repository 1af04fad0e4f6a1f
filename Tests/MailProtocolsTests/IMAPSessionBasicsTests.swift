import XCTest
@testable import MailProtocols

/// Greeting, capabilities, STARTTLS, login, and the limits of the IMAP session.
final class IMAPSessionBasicsTests: XCTestCase {
    private let beforeTLS = "IMAP4rev1 SASL-IR LITERAL+ ID ENABLE IDLE UIDPLUS UNSELECT STARTTLS LOGINDISABLED"
    private let afterTLS = "IMAP4rev1 SASL-IR LITERAL+ ID ENABLE IDLE UIDPLUS UNSELECT AUTH=PLAIN"
    private let loggedIn = "IMAP4rev1 SASL-IR LITERAL+ ID ENABLE IDLE UIDPLUS UNSELECT"

    func testGreetingAndCapabilityBeforeTLS() {
        let t = IMAPTranscript()
        XCTAssertEqual(t.start().text, "* OK [CAPABILITY \(beforeTLS)] imap.contoso.com MailEdge IMAP ready\r\n")
        XCTAssertEqual(t.send("a CAPABILITY\r\n").text, "* CAPABILITY \(beforeTLS)\r\na OK CAPABILITY completed\r\n")
    }

    func testGreetingFollowsTheChangedPolicy() {
        // The greetings are rendered with the policy; each field they show re-renders them.
        let t = IMAPTranscript { policy in
            policy.serverName = "imap2.contoso.com"
            policy.tlsMode = .none
            policy.allowPlaintextAuth = true
        }
        XCTAssertEqual(t.start().text,
                       "* OK [CAPABILITY IMAP4rev1 SASL-IR LITERAL+ ID ENABLE IDLE UIDPLUS UNSELECT AUTH=PLAIN] imap2.contoso.com MailEdge IMAP ready\r\n")
    }

    func testCapabilityAfterTLSAndAfterLogin() {
        let t = IMAPTranscript(tlsMode: .implicit, tls: imapTestTLS)
        XCTAssertTrue(t.start().text.hasPrefix("* OK [CAPABILITY \(afterTLS)]"))
        XCTAssertEqual(t.send("a LOGIN alice s3cret\r\n").text, "a OK [CAPABILITY \(loggedIn)] Logged in\r\n")
        XCTAssertEqual(t.send("b CAPABILITY\r\n").lines.first, "* CAPABILITY \(loggedIn)")
        XCTAssertTrue(t.session.isAuthenticated)
        XCTAssertEqual(t.session.authenticatedUser, "alice")
    }

    func testLoginBeforeTLSIsRefusedWithPrivacyRequired() {
        let t = IMAPTranscript()
        t.start()
        let step = t.send("a LOGIN alice s3cret\r\n")
        XCTAssertEqual(step.text, "a NO [PRIVACYREQUIRED] Use STARTTLS before logging in\r\n")
        XCTAssertTrue(step.others.isEmpty, "no .authenticate: the password never leaves the session")
        XCTAssertEqual(t.send("b AUTHENTICATE PLAIN \(imapPlainAlice)\r\n").text,
                       "b NO [PRIVACYREQUIRED] Use STARTTLS before logging in\r\n")
    }

    func testPlaintextLoginWhenAllowed() {
        let t = IMAPTranscript { $0.allowPlaintextAuth = true }
        XCTAssertTrue(t.start().text.contains("STARTTLS AUTH=PLAIN]"))
        let step = t.send("a LOGIN alice s3cret\r\n")
        XCTAssertEqual(step.others, [.authenticate(username: "alice", password: "s3cret")])
        XCTAssertTrue(step.text.hasPrefix("a OK"))
    }

    func testStartTLSThenFreshSession() {
        let t = IMAPTranscript()
        t.start()
        XCTAssertEqual(t.send("a STARTTLS\r\n").actions,
                       [.send(Array("a OK Begin TLS negotiation now\r\n".utf8)), .startTLS])
        XCTAssertEqual(t.tlsUp().actions, [], "the client speaks first after the handshake")
        XCTAssertTrue(t.session.isTLSActive)
        XCTAssertEqual(t.send("b CAPABILITY\r\n").lines.first, "* CAPABILITY \(afterTLS)")
        XCTAssertEqual(t.send("c STARTTLS\r\n").text, "c BAD TLS already active\r\n")
    }

    func testStartTLSInjectionIsDiscarded() {
        let t = IMAPTranscript { $0.allowPlaintextAuth = true }
        t.start()
        let step = t.send("a STARTTLS\r\nb LOGIN alice s3cret\r\n")
        XCTAssertEqual(step.actions, [.send(Array("a OK Begin TLS negotiation now\r\n".utf8)), .startTLS])
        XCTAssertEqual(t.session.input.unreadCount, 0, "purged at STARTTLS, not only after the handshake")
        XCTAssertEqual(t.send("c LOGIN alice s3cret\r\n").actions, [], "bytes before the handshake are dropped")
        XCTAssertEqual(t.tlsUp().actions, [])
        XCTAssertFalse(t.session.isAuthenticated, "the injected LOGIN never ran")
        XCTAssertEqual(t.send("d NOOP\r\n").text, "d OK NOOP completed\r\n")
    }

    func testStartTLSRefusedWhereNotOffered() {
        let none = IMAPTranscript(tlsMode: .none)
        none.start()
        XCTAssertEqual(none.send("a STARTTLS\r\n").text, "a BAD STARTTLS not available\r\n")
        let implicit = IMAPTranscript(tlsMode: .implicit, tls: imapTestTLS)
        implicit.start()
        XCTAssertEqual(implicit.send("a STARTTLS\r\n").text, "a BAD TLS already active\r\n")
    }

    func testLoginWithQuotedAndLiteralArguments() {
        let t = IMAPTranscript(tlsMode: .implicit, tls: imapTestTLS)
        t.start()
        XCTAssertEqual(t.send("a LOGIN \"alice\" {6}\r\n").text, "+ Ready for literal data\r\n")
        XCTAssertEqual(t.send("s3cret\r\n").lines, ["a OK [CAPABILITY \(loggedIn)] Logged in"])
    }

    func testFailedLoginAndLoginTwice() {
        let t = IMAPTranscript(tlsMode: .implicit, tls: imapTestTLS)
        t.start()
        XCTAssertEqual(t.send("a LOGIN alice wrong\r\n").text, "a NO [AUTHENTICATIONFAILED] Authentication failed\r\n")
        XCTAssertFalse(t.session.isAuthenticated)
        t.send("b LOGIN alice s3cret\r\n")
        XCTAssertEqual(t.send("c LOGIN alice s3cret\r\n").text, "c BAD Already authenticated\r\n")
    }

    func testAuthenticatePlainWithInitialResponseAndContinuation() {
        let t = IMAPTranscript(tlsMode: .implicit, tls: imapTestTLS)
        t.start()
        let step = t.send("a AUTHENTICATE PLAIN \(imapPlainAlice)\r\n")
        XCTAssertEqual(step.others, [.authenticate(username: "alice", password: "s3cret")])
        XCTAssertTrue(step.text.hasPrefix("a OK [CAPABILITY"))

        let c = IMAPTranscript(tlsMode: .implicit, tls: imapTestTLS)
        c.start()
        XCTAssertEqual(c.send("a AUTHENTICATE PLAIN\r\n").text, "+ \r\n")
        XCTAssertTrue(c.send("\(imapPlainAlice)\r\n").text.hasPrefix("a OK"))
        XCTAssertTrue(c.session.isAuthenticated)
    }

    func testAuthenticateCancelledAndUnknownMechanism() {
        let t = IMAPTranscript(tlsMode: .implicit, tls: imapTestTLS)
        t.start()
        t.send("a AUTHENTICATE PLAIN\r\n")
        XCTAssertEqual(t.send("*\r\n").text, "a BAD Authentication cancelled\r\n")
        XCTAssertEqual(t.send("b AUTHENTICATE CRAM-MD5\r\n").text, "b NO Unsupported authentication mechanism\r\n")
        XCTAssertEqual(t.send("c AUTHENTICATE PLAIN !!!\r\n").text, "c BAD Invalid base64 in authentication response\r\n")
    }

    func testInputWaitsForAuthenticationResult() {
        let t = IMAPTranscript(tlsMode: .implicit, tls: imapTestTLS)
        t.automatic = false
        t.start()
        let step = t.send("a LOGIN alice s3cret\r\nb CAPABILITY\r\n")
        XCTAssertEqual(step.actions, [.authenticate(username: "alice", password: "s3cret")])
        let done = IMAPStep(actions: t.session.authenticationCompleted(success: true))
        XCTAssertEqual(done.lines, ["a OK [CAPABILITY \(loggedIn)] Logged in", "* CAPABILITY \(loggedIn)",
                                    "b OK CAPABILITY completed"])
    }

    func testLogoutIDEnableAndNoop() {
        let t = IMAPTranscript().loggedIn()
        XCTAssertEqual(t.send("a ID (\"name\" \"neomutt\" \"version\" NIL)\r\n").text,
                       "* ID (\"name\" \"MailEdge\")\r\na OK ID completed\r\n")
        XCTAssertEqual(t.send("b ENABLE CONDSTORE UTF8=ACCEPT\r\n").text, "* ENABLED\r\nb OK ENABLE completed\r\n")
        XCTAssertEqual(t.send("c NOOP\r\n").text, "c OK NOOP completed\r\n")
        let logout = t.send("d LOGOUT\r\n")
        XCTAssertEqual(logout.text, "* BYE MailEdge IMAP server logging out\r\nd OK LOGOUT completed\r\n")
        XCTAssertEqual(logout.others, [.close])
        XCTAssertTrue(t.session.isClosed)
        XCTAssertEqual(t.send("e NOOP\r\n").actions, [])
    }

    func testBadCommandsAndWrongState() {
        let t = IMAPTranscript()
        t.start()
        XCTAssertEqual(t.send("a FROBNICATE\r\n").text, "a BAD Unknown command\r\n")
        XCTAssertEqual(t.send("\r\n").text, "* BAD Empty command line\r\n")
        XCTAssertEqual(t.send("* NOOP\r\n").text, "* BAD Missing or invalid tag\r\n")
        XCTAssertEqual(t.send("b SELECT INBOX\r\n").text, "b BAD Not authenticated\r\n")
        XCTAssertEqual(t.send("c LOGIN onlyuser\r\n").text, "c BAD LOGIN expected a space\r\n")
        let loggedIn = IMAPTranscript().loggedIn()
        XCTAssertEqual(loggedIn.send("d FETCH 1 FLAGS\r\n").text, "d BAD No mailbox selected\r\n")
    }

    func testTooManyBadCommandsCloses() {
        let t = IMAPTranscript { $0.maxBadCommands = 3 }
        t.start()
        t.send("a X\r\n")
        t.send("b X\r\n")
        let step = t.send("c X\r\nd NOOP\r\n")
        XCTAssertEqual(step.text, "c BAD Unknown command\r\n* BYE Too many invalid commands\r\n")
        XCTAssertTrue(step.closes)
        XCTAssertEqual(step.limits.count, 1)
    }

    func testLineTooLong() {
        let t = IMAPTranscript { $0.maxLineLength = 100 }
        t.start()
        let step = t.send("a NOOP " + String(repeating: "x", count: 300) + "\r\nb NOOP\r\n")
        XCTAssertEqual(step.text, "* BAD line too long\r\nb OK NOOP completed\r\n")
        XCTAssertEqual(step.limits.count, 1)
        XCTAssertLessThan(t.session.input.bytes.count, 200)
    }

    func testPipelinedInputWhileWaitingIsBounded() {
        let t = IMAPTranscript(tlsMode: .implicit, tls: imapTestTLS)
        t.automatic = false
        t.start()
        t.send("a LOGIN alice s3cret\r\n")
        let step = t.sendBytes([UInt8](repeating: 0x41, count: 2_000_000))
        XCTAssertEqual(step.text, "* BYE Too much pipelined input\r\n")
        XCTAssertTrue(step.closes)
    }

    func testIdleTimeoutAndShutdown() {
        let t = IMAPTranscript()
        t.start()
        XCTAssertEqual(t.session.idleTimeout(), [.send(Array("* BYE Autologout; idle for too long\r\n".utf8)), .close])
        let s = IMAPTranscript()
        s.start()
        XCTAssertEqual(s.session.shutdown(), [.send(Array("* BYE Server shutting down\r\n".utf8)), .close])
        XCTAssertEqual(s.session.shutdown(), [])
    }

    func testPasswordsAppearOnlyInAuthenticate() {
        let t = IMAPTranscript(tlsMode: .implicit, tls: imapTestTLS)
        t.start()
        for step in [t.send("a LOGIN alice wrongpass\r\n"), t.send("b AUTHENTICATE PLAIN \(imapPlainAlice)\r\n")] {
            XCTAssertFalse(step.text.contains("wrongpass"))
            XCTAssertFalse(step.text.contains("s3cret"))
            XCTAssertFalse(step.limits.joined().contains("s3cret"))
        }
    }

    func testRandomBytesNeverCrash() {
        var generator = IMAPTestRandom(seed: 0x5EED)
        let fragments = ["a LOGIN alice s3cret\r\n", "b SELECT INBOX\r\n", "{5}\r\n", "{99999999999+}\r\n", "c FETCH 1:* (BODY[])\r\n",
                         "d SEARCH OR (", "e IDLE\r\n", "DONE\r\n", "f UID STORE * +FLAGS (\\Deleted)\r\n", "\"", "\\", "*", "\r\n"]
        for round in 0..<300 {
            let store = IMAPFakeStore()
            store.add(IMAPTestMessages.multipart)
            store.add(IMAPTestMessages.addresses)
            let t = IMAPTranscript(tlsMode: .implicit, tls: imapTestTLS, store: store) { $0.maxLineLength = 256 }
            t.start()
            if round % 2 == 0 { t.send("x LOGIN alice s3cret\r\ny SELECT INBOX\r\n") }
            for _ in 0..<40 {
                var bytes: [UInt8] = []
                if generator.next() % 3 == 0 {
                    bytes = Array(fragments[Int(generator.next() % UInt64(fragments.count))].utf8)
                } else {
                    for _ in 0..<(generator.next() % 64) { bytes.append(UInt8(truncatingIfNeeded: generator.next())) }
                }
                t.sendBytes(bytes)
                if generator.next() % 17 == 0 { t.refresh() }
            }
        }
    }
}

/// A small deterministic generator (SplitMix64) for the fuzz test.
struct IMAPTestRandom {
    var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
