import XCTest
@testable import MailProtocols

/// RFC 4954 AUTH with PLAIN and LOGIN on a submission connector.
final class SMTPAuthTests: XCTestCase {
    private func submission() -> SMTPTranscript {
        SMTPTranscript(role: .submission).upgraded()
    }

    func testAuthBeforeTLSNeedsStartTLS() {
        let t = SMTPTranscript(role: .submission).greeted()
        XCTAssertEqual(t.send("AUTH PLAIN \(SMTPTestCredentials.plain)\r\n").actions,
                       [.send("530 5.7.0 Must issue a STARTTLS command first\r\n")])
    }

    func testAuthBeforeEHLO() {
        let t = SMTPTranscript(role: .submission, tlsMode: .implicit, tls: smtpTestTLS)
        t.start()
        XCTAssertEqual(t.send("AUTH PLAIN\r\n").text, "503 5.5.1 Error: send HELO/EHLO first\r\n")
    }

    func testAuthOnInboundConnector() {
        let t = SMTPTranscript(role: .inbound).upgraded()
        XCTAssertEqual(t.send("AUTH PLAIN \(SMTPTestCredentials.plain)\r\n").text,
                       "503 5.5.1 Error: authentication not enabled\r\n")
    }

    func testPlainWithInitialResponseSucceeds() {
        let t = submission()
        let step = t.send("AUTH PLAIN \(SMTPTestCredentials.plain)\r\n")
        XCTAssertEqual(step.actions, [.authenticate(username: "alice", password: "s3cret")])
        XCTAssertEqual(t.auth(true).actions, [.send("235 2.7.0 Authentication successful\r\n")])
        XCTAssertTrue(t.session.isAuthenticated)
        XCTAssertEqual(t.send("AUTH PLAIN \(SMTPTestCredentials.plain)\r\n").text,
                       "503 5.5.1 Error: already authenticated\r\n")
    }

    func testPlainWithEmptyChallenge() {
        let t = submission()
        XCTAssertEqual(t.send("auth plain\r\n").actions, [.send("334 \r\n")])
        XCTAssertEqual(t.send("\(SMTPTestCredentials.plainWithAuthzid)\r\n").actions,
                       [.authenticate(username: "alice", password: "s3cret")])
        XCTAssertEqual(t.auth(true).text, "235 2.7.0 Authentication successful\r\n")
    }

    func testPlainFailure() {
        let t = submission()
        t.send("AUTH PLAIN \(SMTPTestCredentials.plain)\r\n")
        XCTAssertEqual(t.auth(false).actions, [.send("535 5.7.8 Authentication credentials invalid\r\n")])
        XCTAssertFalse(t.session.isAuthenticated)
        XCTAssertEqual(t.send("MAIL FROM:<alice@contoso.com>\r\n").text, "530 5.7.0 Authentication required\r\n")
    }

    func testFailedAuthenticationsCountAsErrors() {
        let t = SMTPTranscript(role: .submission) { $0.maxErrors = 2 }.upgraded()
        t.send("AUTH PLAIN \(SMTPTestCredentials.plain)\r\n")
        t.auth(false)
        t.send("AUTH PLAIN \(SMTPTestCredentials.plain)\r\n")
        let step = t.auth(false)
        XCTAssertEqual(step.codes, ["535", "421"])
        XCTAssertEqual(step.others, [.close])
    }

    func testPlainAuthzidMustMatch() {
        let t = submission()
        XCTAssertEqual(t.send("AUTH PLAIN \(SMTPTestCredentials.plainOtherAuthzid)\r\n").actions,
                       [.send("535 5.7.8 Authentication credentials invalid\r\n")])
    }

    func testLoginMechanism() {
        let t = submission()
        XCTAssertEqual(t.send("AUTH LOGIN\r\n").text, "334 VXNlcm5hbWU6\r\n")
        XCTAssertEqual(t.send("\(SMTPTestCredentials.alice)\r\n").text, "334 UGFzc3dvcmQ6\r\n")
        XCTAssertEqual(t.send("\(SMTPTestCredentials.secret)\r\n").actions,
                       [.authenticate(username: "alice", password: "s3cret")])
        XCTAssertEqual(t.auth(true).text, "235 2.7.0 Authentication successful\r\n")
    }

    func testLoginWithUsernameAsInitialResponse() {
        let t = submission()
        XCTAssertEqual(t.send("AUTH LOGIN \(SMTPTestCredentials.alice)\r\n").text, "334 UGFzc3dvcmQ6\r\n")
        XCTAssertEqual(t.send("\(SMTPTestCredentials.secret)\r\n").others,
                       [.authenticate(username: "alice", password: "s3cret")])
    }

    func testCancel() {
        let t = submission()
        t.send("AUTH LOGIN\r\n")
        t.send("\(SMTPTestCredentials.alice)\r\n")
        XCTAssertEqual(t.send("*\r\n").actions, [.send("501 5.7.0 Authentication aborted\r\n")])
        t.send("AUTH PLAIN\r\n")
        XCTAssertEqual(t.send("*\r\n").text, "501 5.7.0 Authentication aborted\r\n")
        XCTAssertEqual(t.send("NOOP\r\n").text, "250 2.0.0 Ok\r\n", "back in command mode")
    }

    func testUndecodableResponses() {
        let t = submission()
        XCTAssertEqual(t.send("AUTH PLAIN !!notbase64\r\n").text, "501 5.5.2 Cannot decode response\r\n")
        t.send("AUTH PLAIN\r\n")
        XCTAssertEqual(t.send("a b c\r\n").text, "501 5.5.2 Cannot decode response\r\n")
        // Valid base64 of "alice" alone: no NUL separators.
        XCTAssertEqual(t.send("AUTH PLAIN \(SMTPTestCredentials.alice)\r\n").text,
                       "501 5.5.2 Cannot decode response\r\n")
        // "=" is the empty initial response, which is not a valid PLAIN message.
        XCTAssertEqual(t.send("AUTH PLAIN =\r\n").text, "501 5.5.2 Cannot decode response\r\n")
        t.send("AUTH LOGIN\r\n")
        XCTAssertEqual(t.send("=\r\n").text, "501 5.5.2 Cannot decode response\r\n", "empty user name")
        XCTAssertFalse(t.session.isAuthenticated)
    }

    func testUnknownMechanism() {
        let t = submission()
        XCTAssertEqual(t.send("AUTH CRAM-MD5\r\n").text, "504 5.5.4 Unrecognized authentication type\r\n")
        XCTAssertEqual(t.send("AUTH\r\n").text, "501 5.5.4 Syntax: AUTH mechanism [initial-response]\r\n")
    }

    func testAuthDuringMailTransaction() {
        // On submission MAIL needs authentication first, so this state is only
        // reachable by setting it up directly.
        var session = SMTPSession(policy: SMTPPolicy(fqdn: smtpTestFQDN, role: .submission, tlsMode: .none,
                                                     allowPlaintextAuth: true),
                                  clientAddress: smtpTestClient, tls: nil, clock: { smtpTestDate })
        _ = session.start()
        _ = session.receive("EHLO c\r\n".bytes)
        session.transaction = SMTPSession.Transaction(mailFrom: "x@example.org")
        XCTAssertEqual(session.receive("AUTH PLAIN\r\n".bytes),
                       [.send("503 5.5.1 Error: MAIL transaction in progress\r\n")])
    }

    func testPlaintextAuthWhenAllowed() {
        let t = SMTPTranscript(role: .submission, tlsMode: .none) { $0.allowPlaintextAuth = true }.greeted()
        XCTAssertEqual(t.send("AUTH PLAIN \(SMTPTestCredentials.plain)\r\n").others,
                       [.authenticate(username: "alice", password: "s3cret")])
    }

    func testSecretsNeverAppearOutsideTheAuthenticateAction() {
        let t = submission()
        var everything = ""
        let steps = [
            t.send("AUTH PLAIN \(SMTPTestCredentials.plain)\r\n"), t.auth(false),
            t.send("AUTH LOGIN\r\n"), t.send("\(SMTPTestCredentials.alice)\r\n"),
            t.send("\(SMTPTestCredentials.secret)\r\n"), t.auth(false),
            t.send("AUTH PLAIN\r\n"), t.send("AGFsaWNlAHMzY3JldA=\r\n"),
        ]
        for step in steps { everything += step.text }
        XCTAssertFalse(everything.contains("s3cret"))
        XCTAssertFalse(everything.contains(SMTPTestCredentials.secret))
        XCTAssertFalse(everything.contains("AGFsaWNl"))
    }

    func testLongSASLResponseUsesTheLargerLimit() {
        let t = submission()
        let password = String(repeating: "p", count: 3000)
        let token = Data(("\0alice\0" + password).utf8).base64EncodedString()
        XCTAssertGreaterThan(token.utf8.count, 2048)
        XCTAssertEqual(t.send("AUTH PLAIN \(token)\r\n").others,
                       [.authenticate(username: "alice", password: password)])
        t.auth(false)
        t.send("AUTH PLAIN\r\n")
        XCTAssertEqual(t.send("\(token)\r\n").others, [.authenticate(username: "alice", password: password)])
        t.auth(false)
        let huge = String(repeating: "A", count: 13_000)
        t.send("AUTH PLAIN\r\n")
        XCTAssertEqual(t.send("\(huge)\r\n").text, "500 5.5.2 Line too long\r\n")
        XCTAssertEqual(t.send("NOOP\r\n").text, "250 2.0.0 Ok\r\n")
    }

    func testMailAfterAuthenticationCarriesTheUser() {
        let t = SMTPTranscript(role: .submission).loggedIn()
        XCTAssertEqual(t.send("MAIL FROM:<alice@contoso.com>\r\n").text, "250 2.1.0 Ok\r\n")
        XCTAssertEqual(t.send("RCPT TO:<bob@fabrikam.com>\r\n").others,
                       [.verifyRecipient(address: "bob@fabrikam.com", authenticated: true)])
        t.verdict(.relay)
        t.send("DATA\r\n")
        let envelope = t.send("Subject: hi\r\n\r\nhello\r\n.\r\n").delivered
        XCTAssertEqual(envelope?.authenticatedUser, "alice")
    }
}
