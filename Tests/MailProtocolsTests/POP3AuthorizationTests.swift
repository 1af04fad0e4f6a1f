import XCTest
@testable import MailProtocols

final class POP3AuthorizationTests: XCTestCase {
    func testGreeting() {
        let t = POP3Transcript()
        XCTAssertEqual(t.start().text, "+OK pop.contoso.com MailEdge POP3 ready\r\n")
        XCTAssertEqual(t.start().actions, [])
    }

    func testGreetingFollowsARenamedPolicy() {
        // The greeting is rendered with the policy; changing the name re-renders it.
        let t = POP3Transcript { $0.serverName = "pop2.contoso.com" }
        XCTAssertEqual(t.start().text, "+OK pop2.contoso.com MailEdge POP3 ready\r\n")
    }

    func testInputBeforeGreetingIsAnsweredAfterIt() {
        let t = POP3Transcript()
        XCTAssertEqual(t.send("CAPA\r\n").actions, [])
        let step = t.start()
        XCTAssertEqual(step.lines.first, "+OK pop.contoso.com MailEdge POP3 ready")
        XCTAssertEqual(step.lines[1], "+OK Capability list follows")
    }

    func testCapaBeforeTLSOffersSTLSButNoLogin() {
        let t = POP3Transcript()
        t.start()
        XCTAssertEqual(t.send("CAPA\r\n").text,
                       "+OK Capability list follows\r\nSTLS\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nPIPELINING\r\n"
                       + "AUTH-RESP-CODE\r\nIMPLEMENTATION MailEdge\r\n.\r\n")
    }

    func testCapaAfterTLSOffersLoginButNoSTLS() {
        let t = POP3Transcript().secured()
        let lines = t.send("capa\r\n").lines
        XCTAssertEqual(lines, ["+OK Capability list follows", "TOP", "UIDL", "RESP-CODES", "PIPELINING",
                               "AUTH-RESP-CODE", "USER", "SASL PLAIN", "IMPLEMENTATION MailEdge", "."])
    }

    func testCapaOnImplicitTLS() {
        let t = POP3Transcript(tlsMode: .implicit)
        t.tlsUp()
        t.start()
        let lines = t.send("CAPA\r\n").lines
        XCTAssertTrue(lines.contains("USER"))
        XCTAssertTrue(lines.contains("SASL PLAIN"))
        XCTAssertFalse(lines.contains("STLS"))
        XCTAssertTrue(t.session.isTLSActive)
    }

    func testPlaintextAllowedOffersLoginBeforeTLS() {
        let t = POP3Transcript(tlsMode: .none) { $0.allowPlaintextAuth = true }
        t.start()
        let lines = t.send("CAPA\r\n").lines
        XCTAssertTrue(lines.contains("USER"))
        XCTAssertFalse(lines.contains("STLS"))
        t.send("USER alice\r\n")
        XCTAssertEqual(t.send("PASS s3cret\r\n").statuses, ["+OK Logged in, 0 messages (0 octets)"])
    }

    func testUserPassAndAuthRefusedBeforeTLS() {
        let t = POP3Transcript()
        t.start()
        let refusal = "-ERR [AUTH] Plaintext authentication disallowed on non-secure connections"
        XCTAssertEqual(t.send("USER alice\r\n").statuses, [refusal])
        let pass = t.send("PASS s3cret\r\n")
        XCTAssertEqual(pass.statuses, [refusal])
        XCTAssertEqual(pass.others, [])
        XCTAssertEqual(t.send("AUTH PLAIN \(SMTPTestCredentials.plain)\r\n").statuses, [refusal])
        XCTAssertFalse(t.session.isAuthenticated)
    }

    func testSTLSDiscardsPipelinedCleartext() {
        let t = POP3Transcript()
        t.start()
        let step = t.send("STLS\r\nUSER a\r\n")
        XCTAssertEqual(step.actions, [.send(Array("+OK Begin TLS negotiation\r\n".utf8)), .startTLS])
        XCTAssertEqual(t.send("PASS x\r\n").actions, [])   // during the handshake
        XCTAssertEqual(t.tlsUp().actions, [])
        XCTAssertTrue(t.session.isTLSActive)
        // USER a was never executed: PASS now has no user name.
        XCTAssertEqual(t.send("PASS x\r\n").statuses, ["-ERR No username given, send USER first"])
    }

    func testSTLSResetsUserGivenBefore() {
        let t = POP3Transcript(tlsMode: .starttls) { $0.allowPlaintextAuth = true }
        t.start()
        t.send("USER alice\r\n")
        t.send("STLS\r\n")
        t.tlsUp()
        XCTAssertEqual(t.send("PASS s3cret\r\n").statuses, ["-ERR No username given, send USER first"])
    }

    func testSTLSRefusedWhenActiveOrNotOffered() {
        let t = POP3Transcript().secured()
        XCTAssertEqual(t.send("STLS\r\n").statuses, ["-ERR Command not permitted when TLS active"])
        let plain = POP3Transcript(tlsMode: .none)
        plain.start()
        XCTAssertEqual(plain.send("STLS\r\n").statuses, ["-ERR STLS not supported"])
        let broken = POP3Transcript { $0.tlsAvailable = false }
        broken.start()
        XCTAssertFalse(broken.send("CAPA\r\n").lines.contains("STLS"))
        let refused = broken.send("STLS\r\n")
        XCTAssertEqual(refused.statuses, ["-ERR [SYS/TEMP] TLS not available due to local problem"])
        XCTAssertEqual(refused.others, [])
    }

    func testUserPassLogsIn() {
        let t = POP3Transcript(store: POP3FakeStore(["a\r\n", "bc\r\n"])).secured()
        XCTAssertEqual(t.send("USER alice\r\n").statuses, ["+OK Send your password"])
        let step = t.send("PASS s3cret\r\n")
        XCTAssertEqual(step.others, [.authenticate(username: "alice", password: "s3cret"),
                                     .mailbox(.lock(mailbox: "INBOX")), .mailbox(.snapshot(mailbox: "INBOX"))])
        XCTAssertEqual(step.statuses, ["+OK Logged in, 2 messages (7 octets)"])
        XCTAssertTrue(t.session.holdsLock)
        XCTAssertTrue(t.session.isAuthenticated)
    }

    func testPasswordWithSpacesIsTheRestOfTheLine() {
        let t = POP3Transcript().secured()
        t.passwordCheck = nil
        t.send("USER alice\r\n")
        XCTAssertEqual(t.send("PASS  two words \r\n").others,
                       [.authenticate(username: "alice", password: " two words ")])
    }

    func testFailedLogin() {
        let t = POP3Transcript().secured()
        t.send("USER alice\r\n")
        let step = t.send("PASS wrong\r\n")
        XCTAssertEqual(step.statuses, ["-ERR [AUTH] Authentication failed"])
        XCTAssertEqual(step.operations, [])
        XCTAssertFalse(t.session.isAuthenticated)
        XCTAssertFalse(t.session.holdsLock)
        // Back in AUTHORIZATION: a new attempt works.
        t.send("USER alice\r\n")
        XCTAssertEqual(t.send("PASS s3cret\r\n").statuses, ["+OK Logged in, 0 messages (0 octets)"])
    }

    func testAuthPlainWithInitialResponseAndContinuation() {
        let t = POP3Transcript().secured()
        XCTAssertEqual(t.send("AUTH PLAIN \(SMTPTestCredentials.plain)\r\n").statuses,
                       ["+OK Logged in, 0 messages (0 octets)"])
        let u = POP3Transcript().secured()
        XCTAssertEqual(u.send("AUTH PLAIN\r\n").text, "+ \r\n")
        let step = u.send("\(SMTPTestCredentials.plainWithAuthzid)\r\n")
        XCTAssertEqual(step.others.first, .authenticate(username: "alice", password: "s3cret"))
        XCTAssertEqual(step.statuses, ["+OK Logged in, 0 messages (0 octets)"])
    }

    func testAuthCancelledAndBadResponses() {
        let t = POP3Transcript().secured()
        t.send("AUTH PLAIN\r\n")
        XCTAssertEqual(t.send("*\r\n").statuses, ["-ERR Authentication cancelled"])
        XCTAssertEqual(t.send("AUTH PLAIN !!!\r\n").statuses, ["-ERR Cannot decode SASL response"])
        XCTAssertEqual(t.send("AUTH PLAIN \(SMTPTestCredentials.plainOtherAuthzid)\r\n").statuses,
                       ["-ERR [AUTH] Authentication failed"])
        XCTAssertEqual(t.send("AUTH CRAM-MD5\r\n").statuses, ["-ERR Unsupported authentication mechanism"])
        XCTAssertEqual(t.send("AUTH\r\n").text, "+OK\r\nPLAIN\r\n.\r\n")
        XCTAssertFalse(t.session.isAuthenticated)
    }

    func testLockedMailboxReturnsToAuthorization() {
        let store = POP3FakeStore(["x\r\n"])
        store.locked = true
        let t = POP3Transcript(store: store).secured()
        t.send("USER alice\r\n")
        let step = t.send("PASS s3cret\r\n")
        XCTAssertEqual(step.statuses, ["-ERR [IN-USE] Mailbox is locked by another POP3 session"])
        XCTAssertEqual(step.operations, [.lock(mailbox: "INBOX")])
        XCTAssertFalse(t.session.holdsLock)
        XCTAssertFalse(t.session.isAuthenticated)
        XCTAssertEqual(t.send("STAT\r\n").statuses, ["-ERR Command not valid in this state, log in first"])
        store.locked = false
        t.send("USER alice\r\n")
        XCTAssertEqual(t.send("PASS s3cret\r\n").statuses, ["+OK Logged in, 1 messages (3 octets)"])
    }

    func testSnapshotFailureUnlocksAndReturnsToAuthorization() {
        let t = POP3Transcript(store: nil).secured()
        t.send("USER alice\r\nPASS s3cret\r\n")
        XCTAssertEqual(t.session.mailboxCompleted(.done), [.mailbox(.snapshot(mailbox: "INBOX"))])
        XCTAssertTrue(t.session.holdsLock)
        XCTAssertEqual(t.session.mailboxCompleted(.failure(.io("disk"))), [.mailbox(.unlock(mailbox: "INBOX"))])
        XCTAssertFalse(t.session.holdsLock)
        let step = POP3Step(actions: t.session.mailboxCompleted(.done))
        XCTAssertEqual(step.statuses, ["-ERR [SYS/TEMP] Unable to open the maildrop"])
        XCTAssertFalse(t.session.isAuthenticated)
    }

    func testLockGrantedAfterCloseIsReleased() {
        let t = POP3Transcript(store: nil).secured()
        t.send("USER alice\r\nPASS s3cret\r\n")
        XCTAssertTrue(t.session.idleTimeout().contains(.close))
        XCTAssertEqual(t.session.mailboxCompleted(.done), [.mailbox(.unlock(mailbox: "INBOX"))])
        XCTAssertFalse(t.session.holdsLock)
    }

    func testQuitInAuthorization() {
        let t = POP3Transcript()
        t.start()
        let step = t.send("QUIT\r\nCAPA\r\n")
        XCTAssertEqual(step.statuses, ["+OK pop.contoso.com MailEdge POP3 signing off"])
        XCTAssertTrue(step.closes)
        XCTAssertTrue(t.session.isClosed)
        XCTAssertEqual(t.send("CAPA\r\n").actions, [])
    }

    func testPasswordNeverAppearsOutsideAuthenticate() {
        let t = POP3Transcript().secured()
        t.passwordCheck = { _, _ in false }
        var all: [POP3Action] = []
        all += t.send("USER alice\r\nPASS hunter2-secret\r\n").actions
        all += t.send("AUTH PLAIN \(SMTPTestCredentials.plain)\r\n").actions
        all += t.send("PASS " + String(repeating: "p", count: 600) + "\r\n").actions
        for action in all {
            if case .authenticate = action { continue }
            XCTAssertFalse("\(action)".contains("hunter2"), "\(action)")
            XCTAssertFalse("\(action)".contains("s3cret"), "\(action)")
            XCTAssertFalse("\(action)".contains("ppppp"), "\(action)")
            if case .send(let bytes) = action {
                let text = String(decoding: bytes, as: UTF8.self)
                XCTAssertFalse(text.contains("hunter2") || text.contains("s3cret") || text.contains("ppppp"))
            }
        }
    }
}
