import XCTest
@testable import MailProtocols

/// RFC 2920 pipelining: replies strictly in command order, input held while the
/// session waits for the backend, and framing independent of how bytes are chunked.
final class SMTPPipeliningTests: XCTestCase {
    private let transaction = "MAIL FROM:<a@example.org>\r\nRCPT TO:<alice@contoso.com>\r\n"
        + "RCPT TO:<nobody@contoso.com>\r\nRCPT TO:<bob@contoso.com>\r\nDATA\r\n"

    func testWholeTransactionInOneReceive() {
        let t = SMTPTranscript().greeted()
        let first = t.send(transaction)
        XCTAssertEqual(first.actions, [.send("250 2.1.0 Ok\r\n"),
                                       .verifyRecipient(address: "alice@contoso.com", authenticated: false)])
        XCTAssertEqual(t.send("NOOP\r\n").actions, [], "nothing is processed while waiting")
        XCTAssertEqual(t.verdict(.local).actions,
                       [.send("250 2.1.5 Ok\r\n"), .verifyRecipient(address: "nobody@contoso.com", authenticated: false)])
        XCTAssertEqual(t.verdict(.unknownUser).actions,
                       [.send("550 5.1.1 <nobody@contoso.com>: Recipient address rejected: User unknown\r\n"),
                        .verifyRecipient(address: "bob@contoso.com", authenticated: false)])
        XCTAssertEqual(t.verdict(.local).actions, [.send("250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n")])
        // The NOOP that arrived during the wait was read as message data, as the client
        // should have waited for 354; it ends up in the body.
        let envelope = t.send("Subject: p\r\n\r\nx\r\n.\r\nQUIT\r\n").delivered
        XCTAssertEqual(envelope?.recipients, ["alice@contoso.com", "bob@contoso.com"])
        XCTAssertEqual(envelope.map(smtpBody), "NOOP\r\nSubject: p\r\n\r\nx\r\n")
        XCTAssertEqual(t.delivery(.queued(id: "Z")).actions, [.send("250 2.0.0 Ok: queued as Z\r\n221 2.0.0 Bye\r\n"),
                                                              .close])
    }

    func testRepliesStayInOrderAroundAsynchronousSteps() {
        let t = SMTPTranscript()
        t.start()
        let step = t.send("EHLO c\r\nNOOP\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@contoso.com>\r\nRSET\r\nNOOP\r\n")
        XCTAssertEqual(step.codes, ["250", "250", "250"])
        XCTAssertEqual(step.others, [.verifyRecipient(address: "b@contoso.com", authenticated: false)])
        XCTAssertEqual(t.verdict(.temporaryFailure).text,
                       "451 4.3.0 <b@contoso.com>: Temporary lookup failure\r\n250 2.0.0 Ok\r\n250 2.0.0 Ok\r\n")
    }

    func testAuthenticationHoldsPipelinedCommands() {
        let t = SMTPTranscript(role: .submission).upgraded()
        let step = t.send("AUTH PLAIN \(SMTPTestCredentials.plain)\r\nMAIL FROM:<alice@contoso.com>\r\n")
        XCTAssertEqual(step.actions, [.authenticate(username: "alice", password: "s3cret")])
        XCTAssertEqual(t.auth(true).text, "235 2.7.0 Authentication successful\r\n250 2.1.0 Ok\r\n")
    }

    func testPartialLineWhileWaitingCompletesLater() {
        let t = SMTPTranscript().greeted()
        t.send("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@contoso.com>\r\nNO")
        t.send("O")
        XCTAssertEqual(t.verdict(.local).text, "250 2.1.5 Ok\r\n")
        XCTAssertEqual(t.send("P\r\n").text, "250 2.0.0 Ok\r\n")
    }

    // MARK: Chunking independence

    private static let conversation = "EHLO client.example.org\r\nMAIL FROM:<a@example.org> SIZE=100\r\n"
        + "RCPT TO:<alice@contoso.com>\r\nDATA\r\n"
        + "Subject: chunks\r\n\r\n..stuffed\r\nbare\nlf\r\n.\r\nNOOP\r\nQUIT\r\n"

    /// Feeds `input` in pieces of the given sizes, answering every request the same way,
    /// and returns all actions in order.
    private func run(_ input: [UInt8], pieces: (Int) -> Int) -> [SMTPAction] {
        var session = SMTPSession(policy: SMTPPolicy(fqdn: smtpTestFQDN, role: .inbound, tlsMode: .starttls),
                                  clientAddress: smtpTestClient, tls: nil, clock: { smtpTestDate })
        var all = session.start()
        var index = 0
        var chunk = 0
        while index < input.count {
            let size = max(1, pieces(chunk))
            chunk += 1
            let end = min(input.count, index + size)
            var pending = session.receive(input[index..<end])
            index = end
            while let request = pending.last(where: { action in
                switch action {
                case .verifyRecipient, .deliver: return true
                default: return false
                }
            }) {
                all += pending
                switch request {
                case .verifyRecipient: pending = session.recipientVerified(.local)
                case .deliver: pending = session.deliveryCompleted(.queued(id: "Q1"))
                default: pending = []
                }
            }
            all += pending
        }
        return all
    }

    private func merged(_ actions: [SMTPAction]) -> [SMTPAction] {
        var result: [SMTPAction] = []
        for action in actions {
            // The Received id contains a random per-session part; compare the bodies.
            if case .deliver(var envelope) = action {
                envelope.message = smtpBodyBytes(of: envelope)
                result.append(.deliver(envelope))
            } else if case .send(let text) = action, case .send(let previous)? = result.last {
                result[result.count - 1] = .send(previous + text)
            } else {
                result.append(action)
            }
        }
        return result
    }

    func testByteAtATimeGivesTheSameResultAsOneChunk() {
        let input = Self.conversation.bytes
        let whole = merged(run(input, pieces: { _ in input.count }))
        let bytewise = merged(run(input, pieces: { _ in 1 }))
        let uneven = merged(run(input, pieces: { [3, 7, 1, 13, 2][$0 % 5] }))
        XCTAssertEqual(whole, bytewise)
        XCTAssertEqual(whole, uneven)
        XCTAssertEqual(whole.last, .close)
        let delivered = whole.compactMap { action -> SMTPEnvelope? in
            if case .deliver(let envelope) = action { return envelope } else { return nil }
        }
        XCTAssertEqual(delivered.count, 1)
        XCTAssertEqual(delivered.first.map { String(decoding: $0.message, as: UTF8.self) }, "Subject: chunks\r\n\r\n.stuffed\r\nbare\nlf\r\n")
        let text = whole.reduce(into: "") { if case .send(let part) = $1 { $0 += part } }
        XCTAssertTrue(text.hasSuffix("354 End data with <CR><LF>.<CR><LF>\r\n250 2.0.0 Ok: queued as Q1\r\n"
                                     + "250 2.0.0 Ok\r\n221 2.0.0 Bye\r\n"))
    }

    func testEndOfDataSplitAcrossEveryBoundary() {
        let tail = "x\r\n.\r\n".bytes
        for split in 1..<tail.count {
            let t = SMTPTranscript().greeted()
            t.inTransaction()
            t.send("DATA\r\n")
            XCTAssertNil(t.sendBytes(Array(tail[..<split])).delivered, "split \(split)")
            XCTAssertEqual(t.sendBytes(Array(tail[split...])).delivered.map(smtpBody), "x\r\n", "split \(split)")
        }
    }
}
