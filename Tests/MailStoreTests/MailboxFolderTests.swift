import Foundation
import XCTest
import MailProtocols
@testable import MailStore

final class MailboxFolderTests: MailboxStoreTestCase {
    func names(_ store: MailboxStore, user: String = "alice") -> [String] {
        guard case .list(let entries) = store.perform(.list, user: user) else { return [] }
        return entries.map(\.name)
    }

    func testListOfANewUserIsJustINBOX() {
        XCTAssertEqual(makeStore().perform(.list, user: "alice"),
                       .list([MailboxListEntry(name: "INBOX", hasChildren: false, subscribed: false)]))
    }

    func testCreateUsesMaildirPlusPlusLayout() throws {
        let store = makeStore()
        XCTAssertEqual(store.perform(.create(mailbox: "Archive/2026"), user: "alice"), .done)
        for path in [".Archive", ".Archive.2026"] {
            XCTAssertEqual(files("\(mailRoot)/alice/\(path)"),
                           ["cur", "maildirfolder", "mailedge-uidlist", "new", "tmp"], path)
        }
        XCTAssertEqual(store.perform(.create(mailbox: "Archive/2026"), user: "alice"), .failure(.alreadyExists("Archive/2026")))
        XCTAssertEqual(store.perform(.create(mailbox: "inbox"), user: "alice"), .failure(.alreadyExists("INBOX")))
        XCTAssertEqual(store.perform(.create(mailbox: "Sent"), user: "alice"), .done)
        XCTAssertEqual(store.perform(.list, user: "alice"), .list([
            MailboxListEntry(name: "INBOX", hasChildren: false, subscribed: false),
            MailboxListEntry(name: "Archive", hasChildren: true, subscribed: false),
            MailboxListEntry(name: "Archive/2026", hasChildren: false, subscribed: false),
            MailboxListEntry(name: "Sent", hasChildren: false, subscribed: false),
        ]))
        let archive = snapshot(store, "Archive/2026")
        XCTAssertEqual(archive.name, "Archive/2026")
        XCTAssertEqual(archive.messages, [])
        XCTAssertEqual(snapshot(makeStore(), "Archive/2026").uidValidity, archive.uidValidity)
        XCTAssertEqual(store.perform(.snapshot(mailbox: "Nope"), user: "alice"), .failure(.noSuchMailbox("Nope")))
    }

    func testInboxIsCaseInsensitive() throws {
        try deliver("Subject: x\r\n\r\ny\r\n")
        let store = makeStore()
        XCTAssertEqual(snapshot(store, "inbox").name, "INBOX")
        XCTAssertEqual(store.perform(.create(mailbox: "inbox/Sub"), user: "alice"), .done)
        XCTAssertTrue(FileManager.default.fileExists(atPath: "\(mailRoot)/alice/.INBOX.Sub"))
        XCTAssertEqual(names(store), ["INBOX", "INBOX/Sub"])
        guard case .list(let entries) = store.perform(.list, user: "alice") else { return XCTFail() }
        XCTAssertTrue(entries[0].hasChildren)
    }

    func testInvalidNamesAreRefused() {
        let store = makeStore()
        for name in ["", "a.b", "../etc", "/abs", "a//b", "a/", "..", ".hidden", "tab\there", "nul\u{0}x",
                     String(repeating: "x", count: 300)] {
            let result = store.perform(.create(mailbox: name), user: "alice")
            guard case .failure(.invalidName) = result else { return XCTFail("\(name): \(result)") }
            guard case .failure(.invalidName) = store.perform(.snapshot(mailbox: name), user: "alice") else {
                return XCTFail(name)
            }
        }
        XCTAssertEqual(store.perform(.rename(from: "x", to: "../y"), user: "alice"), .failure(.invalidName("../y")))
        XCTAssertEqual(store.perform(.snapshot(mailbox: "INBOX"), user: "../bob"), .failure(.notPermitted("invalid user name")))
        XCTAssertEqual(names(store), ["INBOX"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(root!)/etc"))
    }

    func testForeignFoldersAreNotListed() throws {
        let store = makeStore()
        _ = snapshot(store)
        for odd in [".inbox.x", "..deleted.1", ".a..b", ".Trash"] {
            try FileManager.default.createDirectory(atPath: "\(mailRoot)/alice/\(odd)", withIntermediateDirectories: true)
        }
        XCTAssertEqual(names(store), ["INBOX", "Trash"])
    }

    func testRenameMovesChildrenAndKeepsUIDs() throws {
        let store = makeStore()
        _ = store.perform(.create(mailbox: "Work/Old"), user: "alice")
        _ = store.perform(.append(mailbox: "Work", message: Array("Subject: w\r\n\r\nx\r\n".utf8), flags: [], internalDate: nil),
                          user: "alice")
        let before = snapshot(store, "Work")
        XCTAssertEqual(store.perform(.rename(from: "Work", to: "Projects/Done"), user: "alice"), .done)
        XCTAssertEqual(names(store), ["INBOX", "Projects", "Projects/Done", "Projects/Done/Old"])
        XCTAssertEqual(snapshot(store, "Projects/Done").messages, before.messages)
        XCTAssertEqual(snapshot(store, "Projects/Done").uidValidity, before.uidValidity)
        XCTAssertEqual(store.perform(.rename(from: "Work", to: "X"), user: "alice"), .failure(.noSuchMailbox("Work")))
        XCTAssertEqual(store.perform(.rename(from: "Projects", to: "Projects/Done"), user: "alice"),
                       .failure(.notPermitted("cannot rename Projects to Projects/Done")))
        XCTAssertEqual(store.perform(.rename(from: "Projects/Done", to: "Projects"), user: "alice"),
                       .failure(.alreadyExists("Projects")))
        XCTAssertEqual(store.perform(.rename(from: "INBOX", to: "Old"), user: "alice"),
                       .failure(.notPermitted("renaming INBOX is not supported")))
    }

    func testDeleteRemovesTheFolderButNotINBOX() throws {
        let store = makeStore()
        _ = store.perform(.create(mailbox: "A/B"), user: "alice")
        _ = store.perform(.append(mailbox: "A/B", message: Array("x\r\n".utf8), flags: [], internalDate: nil), user: "alice")
        let validity = snapshot(store, "A/B").uidValidity
        XCTAssertEqual(store.perform(.delete(mailbox: "A"), user: "alice"),
                       .failure(.notPermitted("mailbox A has children, delete them first")))
        XCTAssertEqual(store.perform(.delete(mailbox: "A/B"), user: "alice"), .done)
        XCTAssertEqual(store.perform(.delete(mailbox: "A/B"), user: "alice"), .failure(.noSuchMailbox("A/B")))
        XCTAssertEqual(names(store), ["INBOX", "A"])
        XCTAssertEqual(files("\(mailRoot)/alice").filter { $0.hasPrefix(".") }, [".A"])
        XCTAssertEqual(store.perform(.delete(mailbox: "INBOX"), user: "alice"),
                       .failure(.notPermitted("INBOX cannot be deleted")))
        // Re-created at once: a new, larger UIDVALIDITY, so clients drop cached UIDs.
        XCTAssertEqual(store.perform(.create(mailbox: "A/B"), user: "alice"), .done)
        let again = snapshot(store, "A/B")
        XCTAssertGreaterThan(again.uidValidity, validity)
        XCTAssertEqual(again.messages, [])
    }

    func testSubscriptions() throws {
        let store = makeStore()
        _ = store.perform(.create(mailbox: "Sent"), user: "alice")
        XCTAssertEqual(store.perform(.subscribe(mailbox: "Sent", subscribed: true), user: "alice"), .done)
        XCTAssertEqual(store.perform(.subscribe(mailbox: "inbox", subscribed: true), user: "alice"), .done)
        XCTAssertEqual(store.perform(.subscribe(mailbox: "Later", subscribed: true), user: "alice"), .done)
        XCTAssertEqual(try String(contentsOfFile: "\(mailRoot)/alice/subscriptions", encoding: .utf8), "INBOX\nLater\nSent\n")
        XCTAssertEqual(makeStore().perform(.list, user: "alice"), .list([
            MailboxListEntry(name: "INBOX", hasChildren: false, subscribed: true),
            MailboxListEntry(name: "Sent", hasChildren: false, subscribed: true),
        ]))
        XCTAssertEqual(store.perform(.subscribe(mailbox: "Sent", subscribed: false), user: "alice"), .done)
        XCTAssertEqual(try String(contentsOfFile: "\(mailRoot)/alice/subscriptions", encoding: .utf8), "INBOX\nLater\n")
        guard case .failure(.invalidName) = store.perform(.subscribe(mailbox: "a.b", subscribed: true), user: "alice") else {
            return XCTFail()
        }
    }

    func testPOP3LockIsExclusivePerUserAndMailbox() {
        let store = makeStore()
        XCTAssertEqual(store.perform(.lock(mailbox: "INBOX"), user: "alice"), .done)
        XCTAssertEqual(store.perform(.lock(mailbox: "inbox"), user: "alice"), .failure(.locked("INBOX")))
        XCTAssertEqual(store.perform(.lock(mailbox: "INBOX"), user: "bob"), .done)
        XCTAssertEqual(store.perform(.unlock(mailbox: "INBOX"), user: "alice"), .done)
        XCTAssertEqual(store.perform(.lock(mailbox: "INBOX"), user: "alice"), .done)
        XCTAssertEqual(store.perform(.unlock(mailbox: "INBOX"), user: "alice"), .done)
        XCTAssertEqual(store.perform(.unlock(mailbox: "INBOX"), user: "alice"), .done)
    }

    /// SMTP delivery into new/ while sessions snapshot from other threads: every
    /// message ends up with exactly one UID, none is lost, and each is recent once.
    func testConcurrentDeliveriesAndSnapshotsLoseNothing() throws {
        let deliverers = 4, perDeliverer = 25, snapshotters = 3
        let recentCounts = RecentCounter()
        let errors = RecentCounter()
        let mailRoot = mailRoot
        let shared = makeStore()
        let group = DispatchGroup()
        for worker in 0..<(deliverers + snapshotters) {
            group.enter()
            // Real threads, all running at once whatever the core count.
            Thread {
                defer { group.leave() }
                if worker < deliverers {
                    let maildir = Maildir(root: mailRoot, hostName: "mx.contoso.com")
                    for index in 0..<perDeliverer {
                        let text = "Subject: \(worker)-\(index)\r\n\r\nbody\r\n"
                        if (try? maildir.deliver(Array(text.utf8), returnPath: "", to: ["alice"],
                                                 queueID: "W\(worker)N\(index)")) == nil { errors.add([0]) }
                    }
                    return
                }
                // One snapshotter has its own instance (as a second process would):
                // only flock serialises it against the others.
                let store = worker == deliverers ? MailboxStore(root: mailRoot, hostName: "mx.contoso.com") : shared
                for _ in 0..<40 {
                    switch store.perform(.snapshot(mailbox: "INBOX"), user: "alice") {
                    case .snapshot(let snapshot): recentCounts.add(snapshot.recent)
                    default: errors.add([0])
                    }
                }
            }.start()
        }
        group.wait()
        let final = snapshot(makeStore())
        recentCounts.add(final.recent)
        XCTAssertEqual(errors.all.count, 0)
        XCTAssertEqual(final.messages.count, deliverers * perDeliverer)
        XCTAssertEqual(Set(final.messages.map(\.uid)), Set(1...UInt32(deliverers * perDeliverer)))
        XCTAssertEqual(recentCounts.all.sorted(), Array(1...UInt32(deliverers * perDeliverer)))
        XCTAssertEqual(files("\(mailRoot)/alice/cur").count, deliverers * perDeliverer)
        guard case .bodies(let bodies) = makeStore().perform(.fetchBodies(mailbox: "INBOX", uids: final.messages.map(\.uid)),
                                                           user: "alice") else { return XCTFail() }
        let subjects = Set(bodies.values.compactMap { String(decoding: $0, as: UTF8.self).components(separatedBy: "\r\n").first { $0.hasPrefix("Subject:") } })
        XCTAssertEqual(subjects.count, deliverers * perDeliverer)
    }

    func testConcurrentAppendsGetDistinctUIDs() {
        let store = makeStore()
        DispatchQueue.concurrentPerform(iterations: 4) { worker in
            for index in 0..<10 {
                _ = store.perform(.append(mailbox: "INBOX", message: Array("Subject: \(worker) \(index)\r\n\r\n".utf8),
                                          flags: [], internalDate: nil), user: "alice")
            }
        }
        XCTAssertEqual(snapshot(store).messages.map(\.uid), Array(1...40))
    }
}

/// Collects UIDs from several threads.
final class RecentCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var values: [UInt32] = []

    func add<S: Sequence>(_ uids: S) where S.Element == UInt32 {
        lock.lock()
        values.append(contentsOf: uids)
        lock.unlock()
    }

    var all: [UInt32] {
        lock.lock()
        defer { lock.unlock() }
        return values
    }
}
