import Foundation
import XCTest
import MailProtocols
@testable import MailStore

/// Common set-up of the mailbox store tests: a temporary `var/mail`.
class MailboxStoreTestCase: XCTestCase {
    var root: String!
    var mailRoot: String { "\(root!)/mail" }

    override func setUpWithError() throws {
        root = NSTemporaryDirectory() + "mailedge-mailbox-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: root) }

    func makeStore() -> MailboxStore { MailboxStore(root: mailRoot, hostName: "mx.contoso.com") }

    @discardableResult
    func deliver(_ text: String, to user: String = "alice", queueID: String = makeQueueID()) throws -> String {
        try Maildir(root: mailRoot, hostName: "mx.contoso.com")
            .deliver(Array(text.utf8), returnPath: "bob@fabrikam.com", to: [user], queueID: queueID)[0]
    }

    func snapshot(_ store: MailboxStore, _ mailbox: String = "INBOX", user: String = "alice",
                  file: StaticString = #filePath, line: UInt = #line) -> MailboxSnapshot {
        guard case .snapshot(let snapshot) = store.perform(.snapshot(mailbox: mailbox), user: user) else {
            XCTFail("no snapshot", file: file, line: line)
            return MailboxSnapshot(name: "", uidValidity: 0, uidNext: 0, messages: [])
        }
        return snapshot
    }

    func body(_ store: MailboxStore, _ uid: UInt32, _ mailbox: String = "INBOX") -> String? {
        guard case .bodies(let bodies) = store.perform(.fetchBodies(mailbox: mailbox, uids: [uid]), user: "alice"),
              let bytes = bodies[uid] else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }

    func files(_ path: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted()
    }
}

final class MailboxStoreTests: MailboxStoreTestCase {
    static let message = "Subject: hi\r\n\r\nbody\r\n"
    /// What the stored file reads as over IMAP/POP3.
    static let stored = "Return-Path: <bob@fabrikam.com>\r\nDelivered-To: alice\r\nSubject: hi\r\n\r\nbody\r\n"

    func testDeliveredMessageGetsUIDOneWithCRLFSizeAndIsRecent() throws {
        try deliver(Self.message)
        let store = makeStore()
        let first = snapshot(store)
        XCTAssertEqual(first.name, "INBOX")
        XCTAssertEqual(first.messages.map(\.uid), [1])
        XCTAssertEqual(first.messages[0].size, Self.stored.utf8.count)
        XCTAssertEqual(first.messages[0].flags, [])
        XCTAssertEqual(first.recent, [1])
        XCTAssertEqual(first.uidNext, 2)
        XCTAssertGreaterThan(first.uidValidity, 1_600_000_000)
        XCTAssertEqual(files("\(mailRoot)/alice/new"), [])
        XCTAssertTrue(files("\(mailRoot)/alice/cur")[0].hasSuffix(":2,"))

        let second = snapshot(store)
        XCTAssertEqual(second.messages, first.messages)
        XCTAssertEqual(second.recent, [])
        XCTAssertEqual(body(store, 1), Self.stored)
    }

    func testUIDsAndUIDValiditySurviveARestart() throws {
        try deliver("Subject: 1\r\n\r\na\r\n")
        try deliver("Subject: 2\r\n\r\nb\r\n")
        let before = snapshot(makeStore())
        try deliver("Subject: 3\r\n\r\nc\r\n")
        let after = snapshot(makeStore())
        XCTAssertEqual(after.uidValidity, before.uidValidity)
        XCTAssertEqual(after.messages.map(\.uid), [1, 2, 3])
        XCTAssertEqual(Array(after.messages.prefix(2)), before.messages)
        XCTAssertEqual(after.recent, [3])
        let list = try String(contentsOfFile: "\(mailRoot)/alice/mailedge-uidlist", encoding: .utf8)
        XCTAssertTrue(list.hasPrefix("V\(before.uidValidity) N4\n1 "), list)
    }

    func testSetFlagsRenamesTheFileAndSurvivesARestart() throws {
        try deliver(Self.message)
        let store = makeStore()
        _ = snapshot(store)
        XCTAssertEqual(store.perform(.setFlags(mailbox: "INBOX", changes: [1: [.seen, .flagged]]), user: "alice"), .done)
        XCTAssertTrue(files("\(mailRoot)/alice/cur")[0].hasSuffix(":2,FS"))
        XCTAssertEqual(snapshot(makeStore()).messages[0].flags, [.seen, .flagged])
        XCTAssertEqual(store.perform(.setFlags(mailbox: "INBOX", changes: [1: [.answered], 99: [.seen]]), user: "alice"), .done)
        XCTAssertEqual(snapshot(makeStore()).messages.map(\.flags), [[.answered]])
        XCTAssertEqual(body(store, 1), Self.stored)
    }

    func testUnknownInfoLettersAreKept() throws {
        let path = try deliver(Self.message)
        let cur = "\(mailRoot)/alice/cur/\((path as NSString).lastPathComponent):2,Sa"
        XCTAssertEqual(rename(path, cur), 0)
        let store = makeStore()
        XCTAssertEqual(snapshot(store).messages[0].flags, [.seen])
        _ = store.perform(.setFlags(mailbox: "INBOX", changes: [1: [.seen, .deleted]]), user: "alice")
        XCTAssertTrue(files("\(mailRoot)/alice/cur")[0].hasSuffix(":2,STa"))
    }

    func testFetchBodiesConvertsBareLFToCRLF() throws {
        try deliver("Subject: x\r\n\r\nmixed\nline\r\nends\n")
        let store = makeStore()
        let summary = snapshot(store).messages[0]
        let text = try XCTUnwrap(body(store, 1))
        XCTAssertTrue(text.hasSuffix("Subject: x\r\n\r\nmixed\r\nline\r\nends\r\n"))
        XCTAssertEqual(summary.size, text.utf8.count)
        XCTAssertNil(body(store, 7))
    }

    func testAppendStoresFlagsDateAndNextUID() throws {
        let store = makeStore()
        try deliver(Self.message)
        _ = snapshot(store)
        let date = Date(timeIntervalSince1970: 1_700_000_000)
        let result = store.perform(.append(mailbox: "INBOX", message: Array("Subject: a\r\n\r\nx\ny\r\n".utf8),
                                           flags: [.seen, .draft], internalDate: date), user: "alice")
        let validity = snapshot(store).uidValidity
        XCTAssertEqual(result, .appended(uidValidity: validity, uid: 2))
        let after = snapshot(store)
        XCTAssertEqual(after.messages.map(\.uid), [1, 2])
        XCTAssertEqual(after.messages[1].flags, [.seen, .draft])
        XCTAssertEqual(after.messages[1].internalDate, date)
        XCTAssertEqual(after.messages[1].size, "Subject: a\r\n\r\nx\r\ny\r\n".utf8.count)
        XCTAssertEqual(after.recent, [])
        XCTAssertEqual(body(store, 2), "Subject: a\r\n\r\nx\r\ny\r\n")
        XCTAssertEqual(files("\(mailRoot)/alice/tmp"), [])
        XCTAssertEqual(store.perform(.append(mailbox: "Nope", message: [], flags: [], internalDate: nil), user: "alice"),
                       .failure(.noSuchMailbox("Nope")))
    }

    func testCopyLinksIntoTheTargetWithNewUIDs() throws {
        let store = makeStore()
        try deliver("Subject: 1\r\n\r\na\r\n")
        try deliver("Subject: 2\r\n\r\nb\r\n")
        _ = snapshot(store)
        _ = store.perform(.setFlags(mailbox: "INBOX", changes: [2: [.flagged]]), user: "alice")
        XCTAssertEqual(store.perform(.create(mailbox: "Archive"), user: "alice"), .done)
        let target = snapshot(store, "Archive")
        let result = store.perform(.copy(from: "INBOX", uids: [2, 1, 9], to: "Archive"), user: "alice")
        XCTAssertEqual(result, .copied(uidValidity: target.uidValidity, mapping: [(2, 1), (1, 2)]))
        let copied = snapshot(store, "Archive")
        XCTAssertEqual(copied.messages.map(\.uid), [1, 2])
        XCTAssertEqual(copied.messages.map(\.flags), [[.flagged], []])
        XCTAssertEqual(copied.recent, [])
        XCTAssertEqual(body(store, 1, "Archive"), body(store, 2))
        XCTAssertEqual(snapshot(store).messages.count, 2)  // the source keeps its messages
        XCTAssertEqual(store.perform(.copy(from: "INBOX", uids: [1], to: "Missing"), user: "alice"),
                       .failure(.noSuchMailbox("Missing")))
    }

    func testExpungeRemovesOnlyDeletedMessages() throws {
        let store = makeStore()
        for index in 1...4 { try deliver("Subject: \(index)\r\n\r\nx\r\n") }
        _ = snapshot(store)
        _ = store.perform(.setFlags(mailbox: "INBOX", changes: [1: [.deleted], 2: [.deleted, .seen], 4: [.deleted]]),
                          user: "alice")
        XCTAssertEqual(store.perform(.expunge(mailbox: "INBOX", uids: [2, 3, 4]), user: "alice"), .expunged([2, 4]))
        XCTAssertEqual(snapshot(store).messages.map(\.uid), [1, 3])
        XCTAssertEqual(store.perform(.expunge(mailbox: "INBOX", uids: nil), user: "alice"), .expunged([1]))
        let after = snapshot(makeStore())
        XCTAssertEqual(after.messages.map(\.uid), [3])
        XCTAssertEqual(after.uidNext, 5)  // UIDs are never reused
        XCTAssertEqual(files("\(mailRoot)/alice/cur").count, 1)
    }

    func testRemoveDeletesExactlyTheGivenUIDs() throws {
        let store = makeStore()
        for index in 1...3 { try deliver("Subject: \(index)\r\n\r\nx\r\n") }
        _ = snapshot(store)
        XCTAssertEqual(store.perform(.remove(mailbox: "INBOX", uids: [3, 1, 8]), user: "alice"), .expunged([1, 3]))
        XCTAssertEqual(snapshot(makeStore()).messages.map(\.uid), [2])
    }

    func testVanishedFileDropsFromTheNextSnapshot() throws {
        let store = makeStore()
        try deliver("Subject: 1\r\n\r\na\r\n")
        try deliver("Subject: 2\r\n\r\nb\r\n")
        _ = snapshot(store)
        let cur = "\(mailRoot)/alice/cur"
        let victim = try XCTUnwrap(files(cur).first { (try? String(contentsOfFile: "\(cur)/\($0)", encoding: .utf8))?.contains("Subject: 1") ?? false })
        XCTAssertEqual(unlink("\(cur)/\(victim)"), 0)
        let after = snapshot(store)
        XCTAssertEqual(after.messages.map(\.uid), [2])
        XCTAssertEqual(after.uidNext, 3)
        XCTAssertFalse(try String(contentsOfFile: "\(mailRoot)/alice/mailedge-uidlist", encoding: .utf8).contains("\n1 "))
    }

    func testExistingMaildirWithoutUIDListIsAdopted() throws {
        let cur = "\(mailRoot)/carol/cur"
        try FileManager.default.createDirectory(atPath: cur, withIntermediateDirectories: true)
        try Data("Subject: old\n\nx\n".utf8).write(to: URL(fileURLWithPath: "\(cur)/1000.M1P1.host:2,S"))
        try Data("Subject: older\n\nx\n".utf8).write(to: URL(fileURLWithPath: "\(cur)/0999.M1P1.host:2,"))
        try Maildir.setModificationTime("\(cur)/1000.M1P1.host:2,S", Date(timeIntervalSince1970: 1000))
        try Maildir.setModificationTime("\(cur)/0999.M1P1.host:2,", Date(timeIntervalSince1970: 999))
        let first = snapshot(makeStore(), user: "carol")
        XCTAssertEqual(first.messages.map(\.uid), [1, 2])
        XCTAssertEqual(first.messages.map(\.flags), [[], [.seen]])  // oldest first
        XCTAssertEqual(first.messages.map(\.internalDate), [Date(timeIntervalSince1970: 999), Date(timeIntervalSince1970: 1000)])
    }

    func testDamagedUIDListGetsANewUIDValidityAndLosesNothing() throws {
        try deliver(Self.message)
        let before = snapshot(makeStore())
        try Data("V\(before.uidValidity) garbage\n".utf8).write(to: URL(fileURLWithPath: "\(mailRoot)/alice/mailedge-uidlist"))
        let after = snapshot(makeStore())
        XCTAssertGreaterThan(after.uidValidity, before.uidValidity)
        XCTAssertEqual(after.messages.map(\.uid), [1])
        try Data("garbage\n".utf8).write(to: URL(fileURLWithPath: "\(mailRoot)/alice/mailedge-uidlist"))
        XCTAssertEqual(snapshot(makeStore()).messages.map(\.uid), [1])
    }

    func testUIDListParsing() throws {
        let list = try XCTUnwrap(MailboxUIDList(parsing: Array("V7 N3\n2 b c 10\n1 a 5\nbad line\n2 dup 1\n".utf8)))
        XCTAssertEqual(list.uidValidity, 7)
        XCTAssertEqual(list.nextUID, 3)
        XCTAssertEqual(list.entries.map(\.uid), [1, 2])
        XCTAssertEqual(list.entries.map(\.base), ["a", "b c"])
        XCTAssertEqual(list.entry(uid: 2)?.size, 10)
        XCTAssertEqual(MailboxUIDList(parsing: list.serialized), list)
        XCTAssertNil(MailboxUIDList(parsing: Array("N3\n".utf8)))
        XCTAssertEqual(MailboxUIDList(parsing: Array("V7 N1\n5 x 1\n".utf8))?.nextUID, 6)
    }

    func testCRLFHelpers() {
        XCTAssertEqual(Maildir.toCRLF(Array("a\nb\r\nc\r".utf8)), Array("a\r\nb\r\nc\r".utf8))
        XCTAssertEqual(Maildir.crlfSize(Array("a\nb\r\nc\n".utf8)), 9)
    }
}
