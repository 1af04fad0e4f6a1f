import XCTest
@testable import MailProtocols

/// MAIL, RCPT and DATA: sequencing, syntax, parameters and the backend's verdicts.
final class SMTPTransactionTests: XCTestCase {
    func testMailBeforeEHLO() {
        let t = SMTPTranscript()
        t.start()
        XCTAssertEqual(t.send("MAIL FROM:<a@example.org>\r\n").text, "503 5.5.1 Error: send HELO/EHLO first\r\n")
    }

    func testSubmissionNeedsAuthentication() {
        let t = SMTPTranscript(role: .submission).upgraded()
        XCTAssertEqual(t.send("MAIL FROM:<alice@contoso.com>\r\n").text, "530 5.7.0 Authentication required\r\n")
    }

    func testSubmissionRequiringTLSSaysStartTLSFirst() {
        let t = SMTPTranscript(role: .submission) { $0.requireTLS = true }.greeted()
        XCTAssertEqual(t.send("MAIL FROM:<alice@contoso.com>\r\n").text,
                       "530 5.7.0 Must issue a STARTTLS command first\r\n")
        XCTAssertEqual(t.send("AUTH PLAIN \(SMTPTestCredentials.plain)\r\n").text,
                       "530 5.7.0 Must issue a STARTTLS command first\r\n")
    }

    func testNestedMail() {
        let t = SMTPTranscript().greeted()
        XCTAssertEqual(t.send("MAIL FROM:<a@example.org>\r\n").text, "250 2.1.0 Ok\r\n")
        XCTAssertEqual(t.send("MAIL FROM:<a@example.org>\r\n").text, "503 5.5.1 Error: nested MAIL command\r\n")
    }

    func testMailSyntax() {
        let t = SMTPTranscript().greeted()
        let syntax = "501 5.5.4 Syntax: MAIL FROM:<address>\r\n"
        XCTAssertEqual(t.send("MAIL a@example.org\r\n").text, syntax)
        XCTAssertEqual(t.send("MAIL FROM:a@example.org\r\n").text, syntax)
        XCTAssertEqual(t.send("MAIL FROM:<a@example.org\r\n").text, syntax)
        XCTAssertEqual(t.send("MAIL FROM:<a@example.org>junk\r\n").text, syntax)
        XCTAssertEqual(t.send("MAIL\r\n").text, syntax)
        let bad = "501 5.1.7 Bad sender address syntax\r\n"
        XCTAssertEqual(t.send("MAIL FROM:<no-at-sign>\r\n").text, bad)
        XCTAssertEqual(t.send("MAIL FROM:<a@>\r\n").text, bad)
        XCTAssertEqual(t.send("MAIL FROM:<a..b@example.org>\r\n").text, bad)
        XCTAssertEqual(t.send("MAIL FROM:<a@-example.org>\r\n").text, bad)
    }

    func testMailAcceptsCommonForms() {
        for line in ["MAIL FROM:<a@example.org>", "MAIL FROM: <a@example.org>", "mail from:<A@Example.ORG>",
                     "MAIL FROM:<>", "MAIL FROM:<\"john doe\"@example.org>", "MAIL FROM:<a@[192.0.2.1]>",
                     "MAIL FROM:<a@[IPv6:2001:db8::1]>", "MAIL FROM:<@relay.example:a@example.org>",
                     "MAIL FROM:<a@example.org> BODY=8BITMIME SIZE=1000 AUTH=<>",
                     "MAIL FROM:<a@example.org> body=7bit", "MAIL FROM:<a@example.org>  "] {
            let t = SMTPTranscript().greeted()
            XCTAssertEqual(t.send(line + "\r\n").text, "250 2.1.0 Ok\r\n", line)
        }
    }

    func testNullReversePathAndSourceRouteInTheEnvelope() {
        let t = SMTPTranscript().greeted()
        t.send("MAIL FROM:<>\r\n")
        t.send("RCPT TO:<@hop.example:alice@contoso.com>\r\n")
        XCTAssertEqual(t.session.transaction?.mailFrom, "")
        t.verdict(.local)
        t.send("DATA\r\n")
        let envelope = t.send(".\r\n").delivered
        XCTAssertEqual(envelope?.mailFrom, "")
        XCTAssertEqual(envelope?.recipients, ["alice@contoso.com"])
    }

    func testSizeParameter() {
        let t = SMTPTranscript { $0.maxMessageSize = 1000 }.greeted()
        let tooBig = "552 5.3.4 Message size exceeds fixed maximum message size\r\n"
        let declared = t.send("MAIL FROM:<a@example.org> SIZE=1001\r\n")
        XCTAssertEqual(declared.text, tooBig)
        XCTAssertEqual(declared.limits, [.messageTooLarge(limit: 1000)])
        XCTAssertEqual(t.send("MAIL FROM:<a@example.org> SIZE=999999999999999999999\r\n").text, tooBig)
        XCTAssertEqual(t.send("MAIL FROM:<a@example.org> SIZE=12x\r\n").text, "501 5.5.4 Bad SIZE parameter\r\n")
        XCTAssertEqual(t.send("MAIL FROM:<a@example.org> SIZE=\r\n").text, "501 5.5.4 Bad SIZE parameter\r\n")
        XCTAssertEqual(t.send("MAIL FROM:<a@example.org> SIZE=1000\r\n").text, "250 2.1.0 Ok\r\n")
    }

    func testUnsupportedMailParameters() {
        let t = SMTPTranscript().greeted()
        XCTAssertEqual(t.send("MAIL FROM:<a@example.org> SMTPUTF8\r\n").text,
                       "555 5.5.4 Unsupported option: SMTPUTF8\r\n")
        XCTAssertEqual(t.send("MAIL FROM:<a@example.org> RET=HDRS\r\n").text,
                       "555 5.5.4 Unsupported option: RET\r\n")
        XCTAssertEqual(t.send("MAIL FROM:<a@example.org> BODY=BINARYMIME\r\n").text,
                       "501 5.5.4 Bad BODY parameter\r\n")
    }

    func testRcptWithoutMail() {
        let t = SMTPTranscript().greeted()
        XCTAssertEqual(t.send("RCPT TO:<a@contoso.com>\r\n").text, "503 5.5.1 Error: need MAIL command\r\n")
    }

    func testRcptSyntax() {
        let t = SMTPTranscript().greeted()
        t.send("MAIL FROM:<a@example.org>\r\n")
        let bad = "501 5.1.3 Bad recipient address syntax\r\n"
        for line in ["RCPT TO:a@contoso.com", "RCPT <a@contoso.com>", "RCPT TO:<>", "RCPT TO:<alice>",
                     "RCPT TO:<a@b@>", "RCPT TO:<a@contoso.com"] {
            XCTAssertEqual(t.send(line + "\r\n").text, bad, line)
        }
        XCTAssertEqual(t.send("RCPT TO:<a@contoso.com> NOTIFY=NEVER\r\n").text,
                       "555 5.5.4 Unsupported option: NOTIFY\r\n")
    }

    func testPostmasterWithoutDomain() {
        let t = SMTPTranscript().greeted()
        t.send("MAIL FROM:<a@example.org>\r\n")
        XCTAssertEqual(t.send("RCPT TO:<Postmaster>\r\n").others,
                       [.verifyRecipient(address: "Postmaster", authenticated: false)])
    }

    func testRecipientVerdicts() {
        let t = SMTPTranscript().greeted()
        t.send("MAIL FROM:<a@example.org>\r\n")
        XCTAssertEqual(t.send("RCPT TO:<alice@contoso.com>\r\n").actions,
                       [.verifyRecipient(address: "alice@contoso.com", authenticated: false)])
        XCTAssertEqual(t.verdict(.local).actions, [.send("250 2.1.5 Ok\r\n")])
        t.send("RCPT TO:<far@fabrikam.com>\r\n")
        XCTAssertEqual(t.verdict(.relay).text, "250 2.1.5 Ok\r\n")
        t.send("RCPT TO:<nobody@contoso.com>\r\n")
        XCTAssertEqual(t.verdict(.unknownUser).text,
                       "550 5.1.1 <nobody@contoso.com>: Recipient address rejected: User unknown\r\n")
        t.send("RCPT TO:<x@elsewhere.example>\r\n")
        XCTAssertEqual(t.verdict(.relayDenied).text, "554 5.7.1 <x@elsewhere.example>: Relay access denied\r\n")
        t.send("RCPT TO:<slow@contoso.com>\r\n")
        XCTAssertEqual(t.verdict(.temporaryFailure).text,
                       "451 4.3.0 <slow@contoso.com>: Temporary lookup failure\r\n")
        XCTAssertEqual(t.session.transaction?.recipients, ["alice@contoso.com", "far@fabrikam.com"])
    }

    func testDuplicateRecipientsAreListedOnce() {
        let t = SMTPTranscript().greeted()
        t.inTransaction(to: "alice@contoso.com")
        XCTAssertEqual(t.send("RCPT TO:<ALICE@contoso.com>\r\n").actions, [.send("250 2.1.5 Ok\r\n")],
                       "an accepted duplicate is not looked up again")
        t.send("DATA\r\n")
        XCTAssertEqual(t.send(".\r\n").delivered?.recipients, ["alice@contoso.com"])
    }

    func testTooManyRecipients() {
        let t = SMTPTranscript { $0.maxRecipients = 2 }.greeted()
        t.inTransaction(to: "a@contoso.com")
        t.send("RCPT TO:<b@contoso.com>\r\n")
        t.verdict(.local)
        XCTAssertEqual(t.send("RCPT TO:<c@contoso.com>\r\n").actions,
                       [.send("452 4.5.3 Error: too many recipients\r\n"), .limitReached(.tooManyRecipients(limit: 2))])
    }

    func testDataSequencing() {
        let t = SMTPTranscript().greeted()
        XCTAssertEqual(t.send("DATA\r\n").text, "503 5.5.1 Error: need MAIL command\r\n")
        t.send("MAIL FROM:<a@example.org>\r\nRCPT TO:<nobody@contoso.com>\r\n")
        t.verdict(.unknownUser)
        XCTAssertEqual(t.send("DATA\r\n").text, "554 5.5.1 Error: no valid recipients\r\n")
        t.send("RCPT TO:<alice@contoso.com>\r\n")
        t.verdict(.local)
        XCTAssertEqual(t.send("DATA now\r\n").text, "501 5.5.4 Syntax: DATA\r\n")
        XCTAssertEqual(t.send("DATA\r\n").actions, [.send("354 End data with <CR><LF>.<CR><LF>\r\n")])
    }

    func testDeliveryResults() {
        let t = SMTPTranscript().greeted()
        t.inTransaction()
        t.send("DATA\r\n")
        XCTAssertNotNil(t.send("Subject: 1\r\n\r\nbody\r\n.\r\n").delivered)
        XCTAssertEqual(t.delivery(.queued(id: "4F3A2B")).actions, [.send("250 2.0.0 Ok: queued as 4F3A2B\r\n")])
        XCTAssertEqual(t.send("RCPT TO:<x@contoso.com>\r\n").text, "503 5.5.1 Error: need MAIL command\r\n",
                       "the transaction is over")

        t.inTransaction()
        t.send("DATA\r\n.\r\n")
        XCTAssertEqual(t.delivery(.temporaryFailure("disk full")).text, "451 4.3.0 Error: queue file write error\r\n")

        t.inTransaction()
        t.send("DATA\r\n.\r\n")
        XCTAssertEqual(t.delivery(.permanentFailure("Mailbox quota exceeded\r\n250 fake")).text,
                       "554 5.3.0 Mailbox quota exceeded??250 fake\r\n", "backend text cannot inject lines")
        XCTAssertEqual(t.send("MAIL FROM:<a@example.org>\r\n").text, "250 2.1.0 Ok\r\n", "EHLO is kept")
    }

    func testDeliveryKeepsAuthentication() {
        let t = SMTPTranscript(role: .submission).loggedIn()
        t.inTransaction(from: "alice@contoso.com", to: "bob@fabrikam.com")
        t.send("DATA\r\n.\r\n")
        t.delivery(.queued(id: "Q1"))
        XCTAssertTrue(t.session.isAuthenticated)
        XCTAssertEqual(t.send("MAIL FROM:<alice@contoso.com>\r\n").text, "250 2.1.0 Ok\r\n")
    }

    func testRejectedRecipientsCountAsErrors() {
        let t = SMTPTranscript { $0.maxErrors = 2 }.greeted()
        t.send("MAIL FROM:<a@example.org>\r\nRCPT TO:<x@contoso.com>\r\n")
        t.verdict(.unknownUser)
        t.send("RCPT TO:<y@contoso.com>\r\n")
        XCTAssertEqual(t.verdict(.unknownUser).codes, ["550", "421"])
        XCTAssertTrue(t.session.isClosed)
    }
}
