import XCTest
@testable import MailProtocols

/// RFC 3207 STARTTLS and the CVE-2011-0411 class of command injection.
final class SMTPStartTLSTests: XCTestCase {
    func testStartTLSRepliesThenAsksForTheHandshake() {
        let t = SMTPTranscript().greeted()
        XCTAssertEqual(t.send("STARTTLS\r\n").actions, [.send("220 2.0.0 Ready to start TLS\r\n"), .startTLS])
        XCTAssertFalse(t.session.isTLSActive)
        XCTAssertEqual(t.tlsUp().actions, [], "the client speaks first after the handshake")
        XCTAssertTrue(t.session.isTLSActive)
    }

    func testStartTLSWithArgumentsIsASyntaxError() {
        let t = SMTPTranscript().greeted()
        XCTAssertEqual(t.send("STARTTLS now\r\n").actions,
                       [.send("501 5.5.4 Syntax error (no parameters allowed)\r\n")])
        XCTAssertFalse(t.session.isClosed)
    }

    func testStartTLSWhenTLSIsActiveIsRefused() {
        let t = SMTPTranscript().upgraded()
        XCTAssertEqual(t.send("STARTTLS\r\n").actions, [.send("503 5.5.1 TLS already active\r\n")])
        let implicit = SMTPTranscript(tlsMode: .implicit, tls: smtpTestTLS).greeted()
        XCTAssertEqual(implicit.send("STARTTLS\r\n").text, "503 5.5.1 TLS already active\r\n")
    }

    func testStartTLSOnAConnectorWithoutIt() {
        let t = SMTPTranscript(tlsMode: .none).greeted()
        XCTAssertEqual(t.send("STARTTLS\r\n").actions, [.send("502 5.5.1 STARTTLS not available\r\n")])
    }

    func testStartTLSWithoutACertificateIsATemporaryFailure() {
        let t = SMTPTranscript { $0.tlsAvailable = false }
        t.start()
        XCTAssertFalse(t.send("EHLO c\r\n").text.contains("STARTTLS"))
        XCTAssertEqual(t.send("STARTTLS\r\n").actions,
                       [.send("454 4.7.0 TLS not available due to local problem\r\n")])
    }

    func testStartTLSInsideAMailTransactionIsRefused() {
        let t = SMTPTranscript().greeted()
        t.send("MAIL FROM:<a@example.org>\r\n")
        XCTAssertEqual(t.send("STARTTLS\r\n").text, "503 5.5.1 Error: MAIL transaction in progress\r\n")
    }

    func testCommandsPipelinedBehindStartTLSAreDiscarded() {
        let t = SMTPTranscript().greeted()
        let step = t.send("STARTTLS\r\nMAIL FROM:<a@b.example>\r\n")
        XCTAssertEqual(step.actions, [.send("220 2.0.0 Ready to start TLS\r\n"), .startTLS])
        XCTAssertEqual(t.session.input.unreadCount, 0, "purged at STARTTLS, not only after the handshake")
        XCTAssertEqual(t.tlsUp().actions, [])
        // The injected MAIL never gets a reply; a MAIL now needs a fresh EHLO.
        XCTAssertEqual(t.send("MAIL FROM:<a@b.example>\r\n").text, "503 5.5.1 Error: send HELO/EHLO first\r\n")
        XCTAssertTrue(t.send("EHLO c\r\n").text.hasPrefix("250-mx.contoso.com"))
        XCTAssertEqual(t.send("MAIL FROM:<a@b.example>\r\n").text, "250 2.1.0 Ok\r\n")
    }

    func testBytesArrivingBeforeTheHandshakeCompletesAreDiscarded() {
        let t = SMTPTranscript().greeted()
        t.send("STARTTLS\r\n")
        XCTAssertEqual(t.send("RSET\r\nMAIL FROM:<x@y.example>\r\nNOOP").actions, [])
        t.tlsUp()
        XCTAssertEqual(t.send("\r\n").text, "500 5.5.2 Error: command not recognized\r\n",
                       "the partial NOOP before the handshake is gone too")
    }

    func testPartialLineBeforeStartTLSDoesNotLeakAcrossTheUpgrade() {
        let t = SMTPTranscript().greeted()
        t.send("STARTTLS\r\nMAIL FR")
        t.tlsUp()
        XCTAssertEqual(t.send("EHLO c\r\n").codes, ["250"])
    }

    func testInjectionAfterAsynchronousReplyIsAlsoDiscarded() {
        let t = SMTPTranscript().greeted()
        t.send("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@contoso.com>\r\nRSET\r\nSTARTTLS\r\nQUIT\r\n")
        let step = t.verdict(.local)
        XCTAssertEqual(step.actions, [.send("250 2.1.5 Ok\r\n250 2.0.0 Ok\r\n220 2.0.0 Ready to start TLS\r\n"),
                                      .startTLS])
        XCTAssertFalse(t.session.isClosed, "the pipelined QUIT was discarded")
    }

    func testHandshakeResetsAllSessionState() {
        let t = SMTPTranscript(role: .submission, tlsMode: .starttls) { $0.allowPlaintextAuth = true }
        t.start()
        t.send("EHLO c\r\nAUTH PLAIN \(SMTPTestCredentials.plain)\r\n")
        t.auth(true)
        XCTAssertTrue(t.session.isAuthenticated)
        XCTAssertEqual(t.send("STARTTLS\r\n").others, [.startTLS])
        t.tlsUp()
        XCTAssertFalse(t.session.isAuthenticated, "authentication from cleartext does not survive")
        XCTAssertEqual(t.send("MAIL FROM:<a@example.org>\r\n").text, "503 5.5.1 Error: send HELO/EHLO first\r\n")
        t.send("EHLO c\r\n")
        XCTAssertEqual(t.send("MAIL FROM:<a@example.org>\r\n").text, "530 5.7.0 Authentication required\r\n")
    }

    func testErrorCountSurvivesTheUpgrade() {
        let t = SMTPTranscript { $0.maxErrors = 2 }
        t.start()
        t.send("BOGUS\r\nSTARTTLS\r\n")
        t.tlsUp()
        XCTAssertEqual(t.send("BOGUS\r\n").codes, ["500", "421"])
    }

    func testRequireTLS() {
        let t = SMTPTranscript { $0.requireTLS = true }.greeted()
        XCTAssertEqual(t.send("MAIL FROM:<a@example.org>\r\n").text,
                       "530 5.7.0 Must issue a STARTTLS command first\r\n")
        t.send("STARTTLS\r\n")
        t.tlsUp()
        t.send("EHLO c\r\n")
        XCTAssertEqual(t.send("MAIL FROM:<a@example.org>\r\n").text, "250 2.1.0 Ok\r\n")
    }
}
