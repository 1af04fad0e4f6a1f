import XCTest
@testable import MailProtocols

/// Greeting, EHLO/HELO, the small commands, limits and the ways a session ends.
final class SMTPSessionBasicsTests: XCTestCase {
    func testGreetingNamesTheServer() {
        let t = SMTPTranscript()
        XCTAssertEqual(t.start().actions, [.send("220 mx.contoso.com ESMTP MailEdge\r\n")])
        XCTAssertEqual(t.start().actions, [], "the greeting is sent once")
    }

    func testGreetingFollowsARenamedPolicy() {
        // The banner is rendered with the policy; changing the name re-renders it.
        let t = SMTPTranscript { $0.fqdn = "mx2.contoso.com" }
        XCTAssertEqual(t.start().actions, [.send("220 mx2.contoso.com ESMTP MailEdge\r\n")])
        XCTAssertTrue(t.send("EHLO c\r\n").text.hasPrefix("250-mx2.contoso.com Hello c ["))
    }

    func testEHLOBeforeTLSAdvertisesStartTLSButNotAuth() {
        let t = SMTPTranscript(role: .submission)
        t.start()
        XCTAssertEqual(t.send("EHLO client.example.org\r\n").text,
                       "250-mx.contoso.com Hello client.example.org [192.0.2.10]\r\n"
                       + "250-PIPELINING\r\n250-SIZE 36700160\r\n250-8BITMIME\r\n"
                       + "250-ENHANCEDSTATUSCODES\r\n250 STARTTLS\r\n")
    }

    func testEHLOAfterTLSOnSubmissionAdvertisesAuthAndNoStartTLS() {
        let t = SMTPTranscript(role: .submission)
        t.start()
        t.send("EHLO client.example.org\r\nSTARTTLS\r\n")
        t.tlsUp()
        XCTAssertEqual(t.send("EHLO client.example.org\r\n").text,
                       "250-mx.contoso.com Hello client.example.org [192.0.2.10]\r\n"
                       + "250-PIPELINING\r\n250-SIZE 36700160\r\n250-8BITMIME\r\n"
                       + "250-ENHANCEDSTATUSCODES\r\n250 AUTH PLAIN LOGIN\r\n")
    }

    func testInboundConnectorNeverAdvertisesAuth() {
        let t = SMTPTranscript(role: .inbound).upgraded()
        let text = t.send("EHLO again.example.org\r\n").text
        XCTAssertFalse(text.contains("AUTH"))
        XCTAssertFalse(text.contains("STARTTLS"))
        XCTAssertTrue(text.hasSuffix("250 ENHANCEDSTATUSCODES\r\n"))
    }

    func testPlaintextAuthAdvertisedOnlyWhenAllowed() {
        let t = SMTPTranscript(role: .submission, tlsMode: .none) { $0.allowPlaintextAuth = true }
        t.start()
        XCTAssertTrue(t.send("EHLO c\r\n").text.hasSuffix("250 AUTH PLAIN LOGIN\r\n"))
        let strict = SMTPTranscript(role: .submission, tlsMode: .none)
        strict.start()
        XCTAssertFalse(strict.send("EHLO c\r\n").text.contains("AUTH"))
    }

    func testImplicitTLSAdvertisesAuthAndNoStartTLS() {
        let t = SMTPTranscript(role: .submission, tlsMode: .implicit, tls: smtpTestTLS)
        t.start()
        let text = t.send("EHLO c\r\n").text
        XCTAssertFalse(text.contains("STARTTLS"))
        XCTAssertTrue(text.hasSuffix("250 AUTH PLAIN LOGIN\r\n"))
        XCTAssertTrue(t.session.isTLSActive)
    }

    func testSizeAdvertisesTheConfiguredLimit() {
        let t = SMTPTranscript(tlsMode: .none) { $0.maxMessageSize = 1000 }
        t.start()
        XCTAssertTrue(t.send("ehlo c\r\n").text.contains("250-SIZE 1000\r\n"))
    }

    func testHELORepliesWithTheServerName() {
        let t = SMTPTranscript()
        t.start()
        XCTAssertEqual(t.send("HELO client.example.org\r\n").text, "250 mx.contoso.com\r\n")
    }

    func testEHLOAndHELOWithoutArgumentAreSyntaxErrors() {
        let t = SMTPTranscript()
        t.start()
        XCTAssertEqual(t.send("EHLO\r\n").text, "501 5.5.4 Syntax: EHLO hostname\r\n")
        XCTAssertEqual(t.send("EHLO   \r\n").text, "501 5.5.4 Syntax: EHLO hostname\r\n")
        XCTAssertEqual(t.send("HELO\r\n").text, "501 5.5.4 Syntax: HELO hostname\r\n")
    }

    func testEHLOResetsTheMailTransaction() {
        let t = SMTPTranscript().greeted()
        t.inTransaction()
        t.send("EHLO client.example.org\r\n")
        XCTAssertEqual(t.send("RCPT TO:<bob@contoso.com>\r\n").text, "503 5.5.1 Error: need MAIL command\r\n")
        XCTAssertEqual(t.send("MAIL FROM:<a@example.org>\r\n").text, "250 2.1.0 Ok\r\n")
    }

    func testCommandsAreCaseInsensitive() {
        let t = SMTPTranscript()
        t.start()
        XCTAssertEqual(t.send("helo c\r\n").text, "250 mx.contoso.com\r\n")
        XCTAssertEqual(t.send("mail from:<a@example.org>\r\n").text, "250 2.1.0 Ok\r\n")
        XCTAssertEqual(t.send("RcPt To:<b@contoso.com>\r\n").others,
                       [.verifyRecipient(address: "b@contoso.com", authenticated: false)])
    }

    func testSmallCommands() {
        let t = SMTPTranscript().greeted()
        XCTAssertEqual(t.send("NOOP\r\n").text, "250 2.0.0 Ok\r\n")
        XCTAssertEqual(t.send("NOOP ignored\r\n").text, "250 2.0.0 Ok\r\n")
        XCTAssertEqual(t.send("RSET\r\n").text, "250 2.0.0 Ok\r\n")
        XCTAssertEqual(t.send("VRFY alice\r\n").text,
                       "252 2.5.0 Cannot VRFY user, but will accept message and attempt delivery\r\n")
        XCTAssertEqual(t.send("VRFY\r\n").text, "501 5.5.4 Syntax: VRFY address\r\n")
        XCTAssertTrue(t.send("HELP\r\n").text.hasPrefix("214 2.0.0 "))
        XCTAssertEqual(t.send("FOO bar\r\n").text, "500 5.5.2 Error: command not recognized\r\n")
        XCTAssertEqual(t.send("\r\n").text, "500 5.5.2 Error: command not recognized\r\n")
        XCTAssertEqual(t.send("EXPN staff\r\n").text, "502 5.5.1 Error: command not implemented\r\n")
    }

    func testRSETEndsTheTransaction() {
        let t = SMTPTranscript().greeted()
        t.inTransaction()
        XCTAssertEqual(t.send("RSET\r\n").text, "250 2.0.0 Ok\r\n")
        XCTAssertEqual(t.send("DATA\r\n").text, "503 5.5.1 Error: need MAIL command\r\n")
    }

    func testQuitSaysByeClosesAndIgnoresTheRest() {
        let t = SMTPTranscript().greeted()
        let step = t.send("QUIT\r\nNOOP\r\n")
        XCTAssertEqual(step.actions, [.send("221 2.0.0 Bye\r\n"), .close])
        XCTAssertTrue(t.session.isClosed)
        XCTAssertEqual(t.send("NOOP\r\n").actions, [])
        XCTAssertEqual(t.idleTimeoutStep().actions, [])
    }

    func testBareLFEndsACommandLine() {
        let t = SMTPTranscript()
        t.start()
        XCTAssertEqual(t.send("HELO c\nNOOP\r\n").text, "250 mx.contoso.com\r\n250 2.0.0 Ok\r\n")
    }

    func testIdleTimeout() {
        let t = SMTPTranscript().greeted()
        XCTAssertEqual(t.idleTimeoutStep().actions,
                       [.send("421 4.4.2 mx.contoso.com Error: timeout exceeded\r\n"), .close])
        XCTAssertTrue(t.session.isClosed)
    }

    func testShutdown() {
        let t = SMTPTranscript().greeted()
        XCTAssertEqual(SMTPStep(actions: t.session.shutdown()).actions,
                       [.send("421 4.3.2 mx.contoso.com Service shutting down\r\n"), .close])
        XCTAssertEqual(t.session.shutdown(), [])
    }

    func testTimeoutDuringTLSHandshakeOnlyCloses() {
        let t = SMTPTranscript().greeted()
        t.send("STARTTLS\r\n")
        XCTAssertEqual(t.idleTimeoutStep().actions, [.close])
    }

    // MARK: Limits

    func testOverlongLineIsDiscardedAndAnsweredOnceItEnds() {
        let t = SMTPTranscript { $0.maxLineLength = 64 }
        t.start()
        let long = "NOOP " + String(repeating: "x", count: 200)
        XCTAssertEqual(t.send(long).actions, [], "no reply before the line ends")
        XCTAssertEqual(t.session.input.unreadCount, 0, "the over-long line is not buffered")
        XCTAssertEqual(t.send(String(repeating: "y", count: 100)).actions, [])
        let step = t.send("\r\nNOOP\r\n")
        XCTAssertEqual(step.text, "500 5.5.2 Line too long\r\n250 2.0.0 Ok\r\n")
        XCTAssertEqual(step.limits, [.lineTooLong(limit: 64)])
    }

    func testLineLimitIncludesTheLineEnd() {
        let t = SMTPTranscript { $0.maxLineLength = 32 }
        t.start()
        let exact = "HELO " + String(repeating: "a", count: 25) + "\r\n"  // 32 bytes
        XCTAssertEqual(exact.utf8.count, 32)
        XCTAssertEqual(t.send(exact).text, "250 mx.contoso.com\r\n")
        let over = "HELO " + String(repeating: "a", count: 26) + "\r\n"  // 33 bytes, one chunk
        XCTAssertEqual(t.send(over).text, "500 5.5.2 Line too long\r\n")
    }

    func testNonASCIIAndNULInCommandsAreRejected() {
        let t = SMTPTranscript()
        t.start()
        XCTAssertTrue(t.sendBytes("HELO a".bytes + [0x00] + "b\r\n".bytes).text.hasPrefix("500 5.5.2 "))
        XCTAssertTrue(t.sendBytes("HELO caf".bytes + [0xC3, 0xA9] + "\r\n".bytes).text.hasPrefix("500 5.5.2 "))
        XCTAssertTrue(t.send("HELO a\u{1B}b\r\n").text.hasPrefix("500 5.5.2 "))
        XCTAssertEqual(t.send("HELO ok\r\n").text, "250 mx.contoso.com\r\n")
    }

    func testTooManyErrorsCloseTheSession() {
        let t = SMTPTranscript { $0.maxErrors = 3 }
        t.start()
        XCTAssertEqual(t.send("BOGUS\r\nBOGUS\r\n").codes, ["500", "500"])
        let step = t.send("BOGUS\r\nNOOP\r\n")
        XCTAssertEqual(step.actions, [.send("500 5.5.2 Error: command not recognized\r\n"
                                            + "421 4.7.0 mx.contoso.com Error: too many errors\r\n"),
                                      .limitReached(.tooManyErrors(limit: 3)), .close])
        XCTAssertTrue(t.session.isClosed)
    }

    func testDefaultErrorLimitIsTen() {
        let t = SMTPTranscript()
        t.start()
        let step = t.send(String(repeating: "XYZZY\r\n", count: 12))
        XCTAssertEqual(step.codes, Array(repeating: "500", count: 10) + ["421"])
        XCTAssertEqual(step.others, [.close])
    }

    func testInputBeforeTheGreetingWaitsForIt() {
        let t = SMTPTranscript()
        XCTAssertEqual(t.send("HELO early\r\n").actions, [])
        XCTAssertEqual(t.start().text, "220 mx.contoso.com ESMTP MailEdge\r\n250 mx.contoso.com\r\n")
    }

    func testFloodWhileWaitingIsCutOff() {
        let t = SMTPTranscript { $0.maxPipelinedInput = 4096 }.greeted()
        t.send("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@contoso.com>\r\n")
        let step = t.send(String(repeating: "NOOP\r\n", count: 3000))
        XCTAssertEqual(step.actions, [.send("421 4.7.0 mx.contoso.com Error: too much pipelined input\r\n"),
                                      .limitReached(.pipelinedInputTooLarge(limit: 12_288)), .close])  // never below the AUTH line limit
        XCTAssertEqual(t.verdict(.local).actions, [])
    }

    func testCompletionsWithoutARequestAreIgnored() {
        let t = SMTPTranscript().greeted()
        XCTAssertEqual(t.verdict(.local).actions, [])
        XCTAssertEqual(t.auth(true).actions, [])
        XCTAssertEqual(t.delivery(.queued(id: "X")).actions, [])
        XCTAssertFalse(t.session.isAuthenticated)
    }
}

extension SMTPTranscript {
    func idleTimeoutStep() -> SMTPStep { SMTPStep(actions: session.idleTimeout()) }
}
