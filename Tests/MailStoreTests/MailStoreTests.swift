import Foundation
import XCTest
@testable import MailStore

final class MailStoreTests: XCTestCase {
    var root: String!

    override func setUpWithError() throws {
        root = NSTemporaryDirectory() + "mailedge-store-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: root) }

    func testPasswordHashVerifies() throws {
        let hash = try PasswordHash.make(password: "s3cret", n: 1 << 10)
        XCTAssertTrue(hash.hasPrefix("scrypt$1024$8$1$"))
        XCTAssertTrue(PasswordHash.verify(password: "s3cret", against: hash))
        XCTAssertFalse(PasswordHash.verify(password: "s3creT", against: hash))
        XCTAssertFalse(PasswordHash.verify(password: "s3cret", against: hash.replacingOccurrences(of: "scrypt$1024", with: "scrypt$2048")))
        XCTAssertFalse(PasswordHash.verify(password: "s3cret", against: "garbage"))
        XCTAssertNotEqual(try PasswordHash.make(password: "s3cret", n: 1 << 10), hash)  // salted
    }

    func testUserDatabase() throws {
        let users = UserDatabase(path: "\(root!)/users")
        try users.add("Alice", password: "pw1")
        XCTAssertTrue(users.exists("alice"))
        XCTAssertTrue(users.verify("ALICE", password: "pw1"))
        XCTAssertFalse(users.verify("alice", password: "pw2"))
        XCTAssertFalse(users.verify("nobody", password: "pw1"))
        XCTAssertThrowsError(try users.add("alice", password: "x")) { XCTAssertEqual($0 as? StoreError, .userExists("alice")) }
        XCTAssertThrowsError(try users.add("../etc", password: "x")) { XCTAssertEqual($0 as? StoreError, .invalidUserName("../etc")) }
        XCTAssertThrowsError(try users.add("bob", password: "")) { XCTAssertEqual($0 as? StoreError, .emptyPassword) }
        try users.setPassword("alice", password: "pw2")
        XCTAssertTrue(users.verify("alice", password: "pw2"))
        let mode = try FileManager.default.attributesOfItem(atPath: users.path)[.posixPermissions] as? Int
        XCTAssertEqual(mode, 0o600)
        XCTAssertFalse(try String(contentsOfFile: users.path, encoding: .utf8).contains("pw2"))
        try users.remove("alice")
        XCTAssertFalse(users.exists("alice"))
        XCTAssertThrowsError(try users.remove("alice"))
    }

    func testMaildirDeliveryIsInNewWithLFLineEnds() throws {
        let maildir = Maildir(root: "\(root!)/mail", hostName: "mx.contoso.com")
        let message = Array("Received: from x\r\nSubject: hi\r\n\r\nbody\r\nbare\nlf\r\n".utf8)
        let paths = try maildir.deliver(message, returnPath: "bob@fabrikam.com", to: ["alice", "carol"], queueID: "ABC123")
        XCTAssertEqual(paths.count, 2)
        for (path, user) in zip(paths, ["alice", "carol"]) {
            XCTAssertTrue(path.hasPrefix("\(root!)/mail/\(user)/new/"))
            XCTAssertTrue(path.contains("QABC123"))
            let text = try String(contentsOfFile: path, encoding: .utf8)
            XCTAssertEqual(text, "Return-Path: <bob@fabrikam.com>\nDelivered-To: \(user)\nReceived: from x\nSubject: hi\n\nbody\nbare\nlf\n")
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: "\(root!)/mail/\(user)/tmp"), [])
        }
    }

    func testRecipientPolicy() {
        let policy = RecipientPolicy(acceptedDomains: ["Contoso.com", "localhost"])
        let exists: (String) -> Bool = { $0 == "alice" || $0 == "postmaster" }
        XCTAssertEqual(policy.classify("alice@contoso.com", authenticated: false, userExists: exists), .local(user: "alice"))
        XCTAssertEqual(policy.classify("Alice@CONTOSO.COM.", authenticated: false, userExists: exists), .local(user: "alice"))
        XCTAssertEqual(policy.classify("bob@contoso.com", authenticated: true, userExists: exists), .unknownUser)
        XCTAssertEqual(policy.classify("bob@fabrikam.com", authenticated: false, userExists: exists), .relayDenied)
        XCTAssertEqual(policy.classify("bob@fabrikam.com", authenticated: true, userExists: exists), .relay)
        XCTAssertEqual(policy.classify("Postmaster", authenticated: false, userExists: exists), .local(user: "postmaster"))
        XCTAssertEqual(policy.classify("../x@contoso.com", authenticated: false, userExists: { _ in true }), .unknownUser)
        XCTAssertEqual(policy.userName(forLogin: "Alice@Contoso.com"), "alice")
        XCTAssertEqual(policy.userName(forLogin: "alice"), "alice")
        XCTAssertEqual(policy.userName(forLogin: "alice@fabrikam.com"), "alice@fabrikam.com")
    }

    func testOutboundQueueKeepsEnvelopeBesideMessage() throws {
        let queue = OutboundQueue(root: "\(root!)/queue")
        let path = try queue.enqueue(Array("hello\r\n".utf8), mailFrom: "a@contoso.com", recipients: ["b@fabrikam.com"], queueID: "Q1")
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), "hello\r\n")
        let envelope = try JSONDecoder().decode(OutboundQueue.Envelope.self, from: Data(contentsOf: URL(fileURLWithPath: path + ".envelope.json")))
        XCTAssertEqual(envelope.recipients, ["b@fabrikam.com"])
    }
}
