import Foundation
import MailProtocols
import Synchronization

/// The embedded mailbox store behind IMAP and POP3: every user's mail in
/// `<root>/<user>/`, a Maildir++ tree as Dovecot lays it out (INBOX is the Maildir
/// itself, folder "Archive/2026" is `.Archive.2026/`), with UIDs in a
/// `mailedge-uidlist` per folder.
///
/// One instance is shared by all connections; `perform` blocks on disk I/O and is
/// called from the work pool, from many threads at once. Per-folder serialisation is
/// `MailboxFolderLock` (in-process lock plus `flock`); SMTP delivery (`Maildir`)
/// writes into `new/` without any lock, and nothing here ever removes a message that
/// a client did not ask to remove.
public final class MailboxStore: Sendable {
    public let root: String
    let maildir: Maildir
    let folderLock = MailboxFolderLock()
    /// POP3 maildrop locks held in this process: "<user>/<mailbox>".
    private let sessionLocks = Mutex<Set<String>>([])
    /// The last UIDVALIDITY handed out, so a folder deleted and re-created within the
    /// same second still gets a larger one.
    private let lastUIDValidity = Mutex<UInt32>(0)

    public init(root: String, hostName: String) {
        self.root = root
        maildir = Maildir(root: root, hostName: hostName)
    }

    /// Runs one operation for `user` (already authenticated and validated by the
    /// caller). Blocking.
    public func perform(_ operation: MailboxOperation, user: String) -> MailboxResult {
        do {
            guard Self.isSafeUserName(user) else { throw MailboxFailure.notPermitted("invalid user name") }
            return try run(operation, user: user)
        } catch let failure as MailboxFailure {
            return .failure(failure)
        } catch let error as StoreError {
            return .failure(.io(error.description))
        } catch {
            return .failure(.io(String(describing: error)))
        }
    }

    private func run(_ operation: MailboxOperation, user: String) throws -> MailboxResult {
        switch operation {
        case .list:
            return .list(try list(user: user))
        case .snapshot(let mailbox):
            let folder = try folder(user, mailbox)
            return .snapshot(try withFolder(folder) { try folder.synchronize(newValidity: newUIDValidity) })
        case .create(let mailbox):
            try create(user: user, mailbox: mailbox)
        case .delete(let mailbox):
            try delete(user: user, mailbox: mailbox)
        case .rename(let from, let to):
            try rename(user: user, from: from, to: to)
        case .subscribe(let mailbox, let subscribed):
            try subscribe(user: user, mailbox: mailbox, subscribed: subscribed)
        case .fetchBodies(let mailbox, let uids):
            let folder = try folder(user, mailbox)
            return .bodies(try withFolder(folder) {
                try folder.fetchBodies(uids, list: folder.loadUIDList(newValidity: newUIDValidity))
            })
        case .setFlags(let mailbox, let changes):
            let folder = try folder(user, mailbox)
            try withFolder(folder) { try folder.setFlags(changes, list: folder.loadUIDList(newValidity: newUIDValidity)) }
        case .expunge(let mailbox, let uids):
            let only = uids.map(Set.init)
            return .expunged(try remove(user, mailbox) { uid, file in
                file.flags.contains(.deleted) && (only?.contains(uid) ?? true)
            })
        case .remove(let mailbox, let uids):
            let chosen = Set(uids)
            return .expunged(try remove(user, mailbox) { uid, _ in chosen.contains(uid) })
        case .append(let mailbox, let message, let flags, let internalDate):
            return try append(user: user, mailbox: mailbox, message: message, flags: flags, internalDate: internalDate)
        case .copy(let from, let uids, let to):
            return try copy(user: user, from: from, uids: uids, to: to)
        case .lock(let mailbox):
            let key = "\(user)/\(try MailboxName(mailbox).name)"
            let acquired = sessionLocks.withLock { $0.insert(key).inserted }
            return acquired ? .done : .failure(.locked(try MailboxName(mailbox).name))
        case .unlock(let mailbox):
            let key = "\(user)/\(try MailboxName(mailbox).name)"
            _ = sessionLocks.withLock { $0.remove(key) }
        }
        return .done
    }

    // MARK: Folders and locking

    func userPath(_ user: String) -> String { "\(root)/\(user)" }

    func folder(_ user: String, _ name: MailboxName) -> MailboxFolder {
        let base = userPath(user)
        return MailboxFolder(name: name, path: name.isInbox ? base : "\(base)/\(name.directoryName)", maildir: maildir)
    }

    func folder(_ user: String, _ mailbox: String) throws -> MailboxFolder {
        folder(user, try MailboxName(mailbox))
    }

    /// Creates the user's INBOX (`cur`, `new`, `tmp`) when it is missing.
    func ensureInbox(_ user: String) throws {
        try ensureMaildir(userPath(user))
    }

    private func ensureMaildir(_ base: String) throws {
        for sub in ["cur", "new", "tmp"] where !Maildir.isDirectory("\(base)/\(sub)") {
            try FileIO.makeDirectory("\(base)/\(sub)")
        }
    }

    /// Runs `body` under the folder's lock, once the folder is known to exist. INBOX
    /// always exists; other folders only after `create`, and a folder deleted or
    /// renamed while this thread waited is reported as gone, never re-created.
    func withFolder<T>(_ folder: MailboxFolder, _ body: () throws -> T) throws -> T {
        try checkExists(folder)
        do {
            return try folderLock.withLock(folder.path) {
                guard Maildir.isDirectory(folder.path) else { throw MailboxFailure.noSuchMailbox(folder.name.name) }
                for sub in [folder.cur, folder.new, folder.tmp] where !Maildir.isDirectory(sub) {
                    guard mkdir(sub, 0o700) == 0 || errno == EEXIST else {
                        throw StoreError.io(path: sub, reason: String(cString: strerror(errno)))
                    }
                }
                return try body()
            }
        } catch is StoreError where !Maildir.isDirectory(folder.path) {
            throw MailboxFailure.noSuchMailbox(folder.name.name)
        }
    }

    private func checkExists(_ folder: MailboxFolder) throws {
        if folder.name.isInbox {
            try ensureMaildir(folder.path)
        } else if !Maildir.isDirectory(folder.path) {
            throw MailboxFailure.noSuchMailbox(folder.name.name)
        }
    }

    func newUIDValidity() -> UInt32 {
        let now = UInt32(clamping: Int64(Date().timeIntervalSince1970))
        return lastUIDValidity.withLock { last in
            last = max(now, last &+ 1)
            return last
        }
    }

    static func isSafeUserName(_ user: String) -> Bool {
        guard (1...255).contains(user.utf8.count), !user.hasPrefix("."), !user.contains("/") else { return false }
        return !user.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F }
    }

    // MARK: Messages

    private func remove(_ user: String, _ mailbox: String,
                        where shouldRemove: (UInt32, MailboxFolder.MessageFile) -> Bool) throws -> [UInt32] {
        let folder = try folder(user, mailbox)
        return try withFolder(folder) {
            var list = try folder.loadUIDList(newValidity: newUIDValidity)
            return try folder.remove(list: &list, where: shouldRemove)
        }
    }

    private func append(user: String, mailbox: String, message: [UInt8], flags: MessageFlags,
                        internalDate: Date?) throws -> MailboxResult {
        let folder = try folder(user, mailbox)
        // Written and fsynced before the lock is taken (LF line ends, like SMTP
        // delivery); filed into cur/ and given its UID under the lock.
        try checkExists(folder)
        let base = maildir.newUniqueName()
        let bytes = Maildir.toLF(message)
        let temporary = "\(folder.tmp)/\(base)"
        try FileIO.createFile(temporary, bytes, mode: 0o600)
        defer { unlink(temporary) }  // a no-op once it has been filed
        if let internalDate { try Maildir.setModificationTime(temporary, internalDate) }
        return try withFolder(folder) {
            var list = try folder.loadUIDList(newValidity: newUIDValidity)
            guard let uid = try folder.add(from: temporary, link: false, base: base, flags: flags,
                                           size: Maildir.crlfSize(bytes), list: &list) else {
                throw MailboxFailure.io("the appended message vanished")
            }
            try folder.commit(list)
            return .appended(uidValidity: list.uidValidity, uid: uid)
        }
    }

    private func copy(user: String, from: String, uids: [UInt32], to: String) throws -> MailboxResult {
        let source = try folder(user, from)
        let target = try folder(user, to)
        if !target.name.isInbox, !Maildir.isDirectory(target.path) {
            throw MailboxFailure.noSuchMailbox(target.name.name)
        }
        // Never both locks at once: the source's files are looked up, then linked.
        let items = try withFolder(source) {
            try source.locate(uids, in: source.loadUIDList(newValidity: newUIDValidity)).map {
                (uid: $0.uid, path: "\(source.cur)/\($0.file.name)", flags: $0.file.flags, size: $0.entry.size)
            }
        }
        return try withFolder(target) {
            var list = try target.loadUIDList(newValidity: newUIDValidity)
            var mapping: [(UInt32, UInt32)] = []
            for item in items {
                guard let uid = try target.add(from: item.path, link: true, base: maildir.newUniqueName(),
                                               flags: item.flags, size: item.size, list: &list) else { continue }
                mapping.append((item.uid, uid))
            }
            if !mapping.isEmpty { try target.commit(list) }
            return .copied(uidValidity: list.uidValidity, mapping: mapping)
        }
    }
}
