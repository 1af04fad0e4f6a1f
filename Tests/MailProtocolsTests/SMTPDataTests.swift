import XCTest
@testable import MailProtocols

/// The DATA phase: end-of-data detection, dot-unstuffing, SMTP smuggling, the size
/// limit and the Received header.
final class SMTPDataTests: XCTestCase {
    private func inData(_ configure: @escaping (inout SMTPPolicy) -> Void = { _ in }) -> SMTPTranscript {
        let t = SMTPTranscript(configure: configure).greeted()
        t.inTransaction()
        t.send("DATA\r\n")
        return t
    }

    func testDotStuffingIsRemoved() {
        let t = inData()
        let envelope = t.send("Subject: dots\r\n\r\n..leading dot\r\n...two\r\nmid.dle\r\n.\r\n").delivered
        XCTAssertEqual(envelope.map(smtpBody), "Subject: dots\r\n\r\n.leading dot\r\n..two\r\nmid.dle\r\n")
    }

    func testEndOfDataAtTheVeryStart() {
        let t = inData()
        let step = t.send(".\r\n")
        XCTAssertEqual(step.others.count, 1)
        XCTAssertEqual(step.delivered.map(smtpBody), "")
    }

    func testStuffedDotLineAtTheStart() {
        let t = inData()
        XCTAssertEqual(t.send("..\r\n.\r\n").delivered.map(smtpBody), ".\r\n")
    }

    func testBareLFDotBareLFDoesNotEndData() {
        let t = inData()
        XCTAssertEqual(t.send("Subject: x\r\n\r\nhello\n.\nMAIL FROM:<evil@example.org>\n").actions, [])
        XCTAssertEqual(t.send("more\r\n.\nRCPT TO:<x@y.example>\r\n").actions, [], "LF . LF is content")
        XCTAssertEqual(t.send("line\r.\r\nstill data\r\n").actions, [], "CR . CRLF is content")
        let envelope = t.send(".\r\n").delivered
        XCTAssertEqual(envelope.map(smtpBody),
                       "Subject: x\r\n\r\nhello\n.\nMAIL FROM:<evil@example.org>\nmore\r\n\nRCPT TO:<x@y.example>\r\n"
                       + "line\r.\r\nstill data\r\n")
        XCTAssertEqual(t.delivery(.queued(id: "A")).text, "250 2.0.0 Ok: queued as A\r\n")
    }

    func testDotCRWithoutLFIsContent() {
        let t = inData()
        XCTAssertEqual(t.send("a\r\n.\rb\r\n.\r\n").delivered.map(smtpBody), "a\r\n\rb\r\n")
    }

    func testCommandsAfterTheEndAreCommandsAgain() {
        let t = inData()
        let step = t.send("body\r\n.\r\nNOOP\r\n")
        XCTAssertNotNil(step.delivered)
        XCTAssertEqual(step.text, "", "NOOP waits for the delivery result")
        XCTAssertEqual(t.delivery(.queued(id: "Q")).text, "250 2.0.0 Ok: queued as Q\r\n250 2.0.0 Ok\r\n")
    }

    func testMessageAtTheSizeLimitIsAccepted() {
        let t = inData { $0.maxMessageSize = 10 }
        XCTAssertEqual(t.send("12345678\r\n.\r\n").delivered.map(smtpBody), "12345678\r\n")
    }

    func testMessageTooBigIsRefusedWithoutDelivery() {
        let t = inData { $0.maxMessageSize = 10 }
        XCTAssertEqual(t.send("123456789\r\n").actions, [])
        XCTAssertEqual(t.send(String(repeating: "x", count: 5000) + "\r\n").actions, [])
        XCTAssertLessThanOrEqual(t.session.dataReader?.message.count ?? 0, 10, "never keeps more than the limit")
        let step = t.send(".\r\nNOOP\r\n")
        XCTAssertEqual(step.actions, [.send("552 5.3.4 Message size exceeds fixed maximum message size\r\n"),
                                      .limitReached(.messageTooLarge(limit: 10)),
                                      .send("250 2.0.0 Ok\r\n")])
        XCTAssertEqual(t.send("RCPT TO:<a@contoso.com>\r\n").text, "503 5.5.1 Error: need MAIL command\r\n",
                       "the transaction is reset")
    }

    func testLargeMessageInChunksIsLinear() {
        let t = inData()
        let line = String(repeating: "m", count: 998) + "\r\n"
        let chunk = String(repeating: line, count: 64)  // 64000 bytes
        let start = Date()
        for _ in 0..<32 { XCTAssertEqual(t.send(chunk).actions, []) }
        let envelope = t.send(".\r\n").delivered
        XCTAssertEqual(envelope.map(smtpBodyBytes)?.count, 32 * 64_000)
        XCTAssertLessThan(Date().timeIntervalSince(start), 20, "2 MB must not take quadratic time")
    }

    func testDataLinesHaveNoCommandLineLimit() {
        let t = inData { $0.maxLineLength = 64 }
        let line = String(repeating: "z", count: 500)
        XCTAssertEqual(t.send(line + "\r\n.\r\n").delivered.map(smtpBody), line + "\r\n")
    }

    func testEnvelopeContents() {
        let t = SMTPTranscript().upgraded("sender.example.org")
        t.send("MAIL FROM:<a@example.org>\r\nRCPT TO:<alice@contoso.com>\r\n")
        t.verdict(.local)
        t.send("RCPT TO:<bob@contoso.com>\r\n")
        t.verdict(.local)
        t.send("DATA\r\n")
        guard let envelope = t.send("Subject: hi\r\n\r\nhello\r\n.\r\n").delivered else {
            return XCTFail("no delivery")
        }
        XCTAssertEqual(envelope.heloName, "sender.example.org")
        XCTAssertEqual(envelope.clientAddress, "192.0.2.10")
        XCTAssertEqual(envelope.mailFrom, "a@example.org")
        XCTAssertEqual(envelope.recipients, ["alice@contoso.com", "bob@contoso.com"])
        XCTAssertNil(envelope.authenticatedUser)
        XCTAssertEqual(envelope.tls, smtpTestTLS)
        XCTAssertEqual(smtpBody(of: envelope), "Subject: hi\r\n\r\nhello\r\n")
        XCTAssertFalse(smtpReceived(of: envelope).contains("for <"), "several recipients: no for clause")
    }

    // MARK: Received header

    func testReceivedHeaderWithTLSAndAuthentication() {
        let t = SMTPTranscript(role: .submission).loggedIn()
        t.inTransaction(from: "alice@contoso.com", to: "bob@fabrikam.com")
        t.send("DATA\r\n")
        guard let envelope = t.send("Subject: hi\r\n\r\nhello\r\n.\r\n").delivered else {
            return XCTFail("no delivery")
        }
        let received = smtpReceived(of: envelope)
        let lines = received.components(separatedBy: "\r\n")
        XCTAssertEqual(lines.first, "Received: from client.example.org ([192.0.2.10])")
        XCTAssertEqual(lines[1],
                       "\tby mx.contoso.com (MailEdge) with ESMTPSA (version=TLSv1.2 cipher=ECDHE-RSA-AES256-GCM-SHA384)")
        XCTAssertTrue(lines[2].hasPrefix("\tid "))
        XCTAssertEqual(lines[3], "\tfor <bob@fabrikam.com>; Sun, 29 Nov 2026 05:43:55 +0000")
        XCTAssertEqual(lines.last, "", "ends with CRLF")
        XCTAssertFalse(received.contains("alice"), "the authenticated user is not disclosed")
        XCTAssertTrue(String(decoding: envelope.message, as: UTF8.self).hasPrefix("Received: "))
    }

    func testReceivedProtocolKeywords() {
        XCTAssertEqual(receivedHeader(tls: nil, helo: "EHLO").contains(" with ESMTP\r\n"), true)
        XCTAssertTrue(receivedHeader(tls: smtpTestTLS, helo: "EHLO").contains(" with ESMTPS (version=TLSv1.2 "))
        XCTAssertTrue(receivedHeader(tls: nil, helo: "HELO").contains(" with SMTP\r\n"))
        let plainAuth = SMTPTranscript(role: .submission, tlsMode: .none) { $0.allowPlaintextAuth = true }.greeted()
        plainAuth.send("AUTH PLAIN \(SMTPTestCredentials.plain)\r\n")
        plainAuth.auth(true)
        plainAuth.inTransaction()
        let envelope = plainAuth.send("DATA\r\n.\r\n").delivered
        XCTAssertTrue(envelope.map(smtpReceived)?.contains(" with ESMTPA\r\n") ?? false)
    }

    func testReceivedIdsDifferBetweenMessages() {
        let t = SMTPTranscript().greeted()
        var ids: [String] = []
        for _ in 0..<2 {
            t.inTransaction()
            guard let envelope = t.send("DATA\r\n.\r\n").delivered else { return XCTFail("no delivery") }
            let idLine = smtpReceived(of: envelope).components(separatedBy: "\r\n")[2]
            ids.append(idLine)
            t.delivery(.queued(id: "Q"))
        }
        XCTAssertNotEqual(ids[0], ids[1])
    }

    func testReceivedDateFormatting() {
        XCTAssertEqual(SMTPReceivedHeader.rfc5322Date(smtpTestDate), "Sun, 29 Nov 2026 05:43:55 +0000")
        XCTAssertEqual(SMTPReceivedHeader.rfc5322Date(Date(timeIntervalSince1970: 0)),
                       "Thu, 1 Jan 1970 00:00:00 +0000")
    }

    private func receivedHeader(tls: TLSFacts?, helo: String) -> String {
        let t = SMTPTranscript(tlsMode: tls == nil ? .none : .implicit, tls: tls)
        t.start()
        t.send("\(helo) client.example.org\r\n")
        t.inTransaction()
        guard let envelope = t.send("DATA\r\n.\r\n").delivered else {
            XCTFail("no delivery")
            return ""
        }
        let received = smtpReceived(of: envelope)
        XCTAssertFalse(tls == nil && received.contains("version="), "no TLS parenthesis without TLS")
        return received
    }
}
