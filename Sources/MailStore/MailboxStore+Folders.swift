import Foundation
import MailProtocols

/// The folder tree of `MailboxStore`: LIST, CREATE, DELETE, RENAME and subscriptions.
/// Changes to one user's tree are serialised by the lock of the user's Maildir (the
/// INBOX folder lock); a folder's own lock is taken inside it where its files move.
extension MailboxStore {
    static let subscriptionsFileName = "subscriptions"
    /// Marks a Maildir++ subfolder, as Dovecot and Courier do.
    static let folderMarkerFileName = "maildirfolder"

    /// Every folder of the user except INBOX, in no particular order.
    func folderNames(_ user: String) throws -> [MailboxName] {
        let base = userPath(user)
        return (try Maildir.directoryEntries(base) ?? []).compactMap { entry in
            guard let name = MailboxName(directoryName: entry), Maildir.isDirectory("\(base)/\(entry)") else { return nil }
            return name
        }
    }

    func list(user: String) throws -> [MailboxListEntry] {
        let names = try folderNames(user).sorted { $0.name < $1.name }
        let subscribed = Set(try subscriptions(user))
        let inbox = try MailboxName("INBOX")
        var entries = [MailboxListEntry(name: "INBOX", hasChildren: names.contains { $0.isInside(inbox) },
                                        subscribed: subscribed.contains("INBOX"))]
        for name in names {
            entries.append(MailboxListEntry(name: name.name, hasChildren: names.contains { $0.isInside(name) },
                                            subscribed: subscribed.contains(name.name)))
        }
        return entries
    }

    /// Creates the folder and any missing levels above it (RFC 3501 6.3.3).
    func create(user: String, mailbox: String) throws {
        let name = try MailboxName(mailbox)
        guard !name.isInbox else { throw MailboxFailure.alreadyExists(name.name) }
        try ensureInbox(user)
        try folderLock.withLock(userPath(user)) {
            guard !Maildir.isDirectory(folder(user, name).path) else { throw MailboxFailure.alreadyExists(name.name) }
            for ancestor in name.ancestors where !Maildir.isDirectory(folder(user, ancestor).path) {
                try makeFolder(user, ancestor)
            }
            try makeFolder(user, name)
            try FileIO.fsyncDirectory(userPath(user))
        }
    }

    private func makeFolder(_ user: String, _ name: MailboxName) throws {
        let path = folder(user, name).path
        guard mkdir(path, 0o700) == 0 else {
            if errno == EEXIST { throw MailboxFailure.alreadyExists(name.name) }
            throw StoreError.io(path: path, reason: String(cString: strerror(errno)))
        }
        for sub in ["cur", "new", "tmp"] { try FileIO.makeDirectory("\(path)/\(sub)") }
        try FileIO.createFile("\(path)/\(Self.folderMarkerFileName)", [], mode: 0o600)
        // UIDVALIDITY is fixed at creation.
        try MailboxUIDList(uidValidity: newUIDValidity()).save(folder: path)
    }

    /// Deletes a folder with its messages. INBOX cannot be deleted, nor a folder with
    /// folders below it (they would be orphaned).
    func delete(user: String, mailbox: String) throws {
        let name = try MailboxName(mailbox)
        guard !name.isInbox else { throw MailboxFailure.notPermitted("INBOX cannot be deleted") }
        let target = folder(user, name)
        guard Maildir.isDirectory(target.path) else { throw MailboxFailure.noSuchMailbox(name.name) }
        try folderLock.withLock(userPath(user)) {
            guard Maildir.isDirectory(target.path) else { throw MailboxFailure.noSuchMailbox(name.name) }
            guard try !folderNames(user).contains(where: { $0.isInside(name) }) else {
                throw MailboxFailure.notPermitted("mailbox \(name.name) has children, delete them first")
            }
            // Out of sight in one rename (".." never maps to a mailbox name), then removed.
            let trash = "\(userPath(user))/..deleted.\(maildir.newUniqueName())"
            try withFolder(target) {
                guard Maildir.renameFile(target.path, trash) else {
                    throw StoreError.io(path: target.path, reason: String(cString: strerror(errno)))
                }
            }
            try FileIO.fsyncDirectory(userPath(user))
            try? FileManager.default.removeItem(atPath: trash)
        }
    }

    /// Renames a folder and every folder below it; UIDs and UIDVALIDITY move along.
    func rename(user: String, from: String, to: String) throws {
        let source = try MailboxName(from)
        let target = try MailboxName(to)
        guard !source.isInbox else { throw MailboxFailure.notPermitted("renaming INBOX is not supported") }
        guard !target.isInbox else { throw MailboxFailure.alreadyExists(target.name) }
        guard source != target, !target.isInside(source) else {
            throw MailboxFailure.notPermitted("cannot rename \(source.name) to \(target.name)")
        }
        guard Maildir.isDirectory(folder(user, source).path) else { throw MailboxFailure.noSuchMailbox(source.name) }
        try folderLock.withLock(userPath(user)) {
            guard Maildir.isDirectory(folder(user, source).path) else { throw MailboxFailure.noSuchMailbox(source.name) }
            guard !Maildir.isDirectory(folder(user, target).path) else { throw MailboxFailure.alreadyExists(target.name) }
            var moves = [(source, target)]
            for child in try folderNames(user) where child.isInside(source) {
                let renamed = try MailboxName(target.name + child.name.dropFirst(source.name.count))
                guard !Maildir.isDirectory(folder(user, renamed).path) else {
                    throw MailboxFailure.alreadyExists(renamed.name)
                }
                moves.append((child, renamed))
            }
            for ancestor in target.ancestors where !Maildir.isDirectory(folder(user, ancestor).path) {
                try makeFolder(user, ancestor)
            }
            for (old, new) in moves {
                let oldFolder = folder(user, old)
                try withFolder(oldFolder) {
                    guard Maildir.renameFile(oldFolder.path, folder(user, new).path) else {
                        throw StoreError.io(path: oldFolder.path, reason: String(cString: strerror(errno)))
                    }
                }
            }
            try FileIO.fsyncDirectory(userPath(user))
        }
    }

    // MARK: Subscriptions

    /// Subscribed names, one per line in `<user>/subscriptions`.
    func subscriptions(_ user: String) throws -> [String] {
        guard let bytes = try Maildir.readFile("\(userPath(user))/\(Self.subscriptionsFileName)") else { return [] }
        return String(decoding: bytes, as: UTF8.self).split(separator: "\n").compactMap {
            try? MailboxName(String($0)).name
        }
    }

    /// Subscribing does not require the mailbox to exist (RFC 3501 6.3.6).
    func subscribe(user: String, mailbox: String, subscribed: Bool) throws {
        let name = try MailboxName(mailbox)
        try ensureInbox(user)
        try folderLock.withLock(userPath(user)) {
            var names = Set(try subscriptions(user))
            let changed = subscribed ? names.insert(name.name).inserted : names.remove(name.name) != nil
            guard changed else { return }
            let text = names.sorted().map { $0 + "\n" }.joined()
            try FileIO.replaceFile("\(userPath(user))/\(Self.subscriptionsFileName)", Array(text.utf8), mode: 0o600)
        }
    }
}
