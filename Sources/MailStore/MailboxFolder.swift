import Foundation
import MailProtocols

/// One Maildir folder of one user (INBOX or a Maildir++ subfolder) and the message
/// operations on it. Every method must run inside `MailboxFolderLock.withLock` for
/// `path`; `MailboxStore` takes care of that. A plain value, built per operation.
///
/// Messages live in `cur/` as `<base>:2,<flags>`; SMTP delivers into `new/` at any
/// time without taking the lock, which is harmless: new mail is only looked at by
/// `synchronize()`, which moves it to `cur/` and gives it UIDs.
struct MailboxFolder {
    /// A file in `cur/`, split into the base name (which the uidlist knows) and the
    /// Maildir info flags.
    struct MessageFile {
        var name: String
        var base: String
        var flags: MessageFlags
        /// Info letters this store does not interpret (Dovecot keywords), kept as is.
        var otherInfo: String

        init(name: String) {
            self.name = name
            if let range = name.range(of: ":2,") {
                base = String(name[..<range.lowerBound])
                let info = name[range.upperBound...]
                flags = MessageFlags(maildirInfo: info)
                otherInfo = String(info.filter { !"DFRST".contains($0) })
            } else {
                base = name
                flags = []
                otherInfo = ""
            }
        }

        /// The file name carrying `flags`, letters in ASCII order as Maildir requires.
        func name(with flags: MessageFlags) -> String {
            base + ":2," + String((flags.maildirInfo + otherInfo).sorted())
        }
    }

    let name: MailboxName
    let path: String
    /// Source of new unique file names.
    let maildir: Maildir

    var cur: String { "\(path)/cur" }
    var new: String { "\(path)/new" }
    var tmp: String { "\(path)/tmp" }

    /// The messages in `cur/` by base name.
    func scan() throws -> [String: MessageFile] {
        var files: [String: MessageFile] = [:]
        for entry in try Maildir.directoryEntries(cur) ?? [] where !entry.hasPrefix(".") {
            let file = MessageFile(name: entry)
            // A base the uidlist format cannot hold is left alone, never deleted.
            guard !file.base.isEmpty, !file.base.contains("\n"), !file.base.contains("\r") else { continue }
            files[file.base] = file
        }
        return files
    }

    /// The uidlist, or a new one (saved at once, so UIDVALIDITY is fixed from now on).
    func loadUIDList(newValidity: () -> UInt32) throws -> MailboxUIDList {
        let bytes = try Maildir.readFile("\(path)/\(MailboxUIDList.fileName)")
        if let bytes, let list = MailboxUIDList(parsing: bytes) { return list }
        // None yet, or damaged: all messages get new UIDs under a new UIDVALIDITY,
        // larger than a damaged file's (clients must drop what they cached).
        let damaged = bytes.flatMap { MailboxUIDList.salvageValidity($0) } ?? 0
        let list = MailboxUIDList(uidValidity: max(newValidity(), damaged &+ 1))
        try list.save(folder: path)
        return list
    }

    // MARK: Snapshot

    /// Moves new mail to `cur/`, gives UIDs to files the uidlist does not know yet
    /// (oldest first), forgets entries whose file is gone, and reports the snapshot.
    func synchronize(newValidity: () -> UInt32) throws -> MailboxSnapshot {
        try moveNewToCur()
        var list = try loadUIDList(newValidity: newValidity)
        let files = try scan()
        var changed = !list.removeAll { files[$0.base] == nil }.isEmpty
        let known = Set(list.entries.map(\.base))
        var arrivals: [(date: Date, file: MessageFile)] = []
        for file in files.values where !known.contains(file.base) {
            guard let date = Maildir.modificationTime("\(cur)/\(file.name)") else { continue }
            arrivals.append((date, file))
        }
        arrivals.sort { $0.date != $1.date ? $0.date < $1.date : $0.file.name < $1.file.name }
        var recent: Set<UInt32> = []
        for arrival in arrivals {
            guard let bytes = try Maildir.readFile("\(cur)/\(arrival.file.name)") else { continue }
            recent.insert(try list.assign(base: arrival.file.base, size: Maildir.crlfSize(bytes)))
            changed = true
        }
        if changed { try list.save(folder: path) }
        let messages = list.entries.compactMap { entry -> MessageSummary? in
            guard let file = files[entry.base] else { return nil }
            let date = Maildir.modificationTime("\(cur)/\(file.name)") ?? Date(timeIntervalSince1970: 0)
            return MessageSummary(uid: entry.uid, flags: file.flags, size: entry.size, internalDate: date)
        }
        return MailboxSnapshot(name: name.name, uidValidity: list.uidValidity, uidNext: list.nextUID,
                               messages: messages, recent: recent)
    }

    /// `new/X` becomes `cur/X:2,`. Never replaces a file in `cur/`.
    private func moveNewToCur() throws {
        var moved = false
        for entry in try Maildir.directoryEntries(new) ?? [] where !entry.hasPrefix(".") {
            let target = entry.contains(":2,") ? entry : entry + ":2,"
            switch try Self.moveWithoutReplacing("\(new)/\(entry)", to: "\(cur)/\(target)") {
            case .moved:
                moved = true
            case .vanished:
                continue
            case .exists:
                // Same name already in cur/ (a different message, or this one after a
                // crash between link and unlink): keep both, under a fresh name.
                let fresh = maildir.newUniqueName()
                if try Self.moveWithoutReplacing("\(new)/\(entry)", to: "\(cur)/\(fresh):2,") == .moved { moved = true }
            case .sameFile:
                unlink("\(new)/\(entry)")
                moved = true
            case .linkUnsupported:
                continue  // not returned by moveWithoutReplacing
            }
        }
        if moved {
            try FileIO.fsyncDirectory(cur)
            try FileIO.fsyncDirectory(new)
        }
    }

    // MARK: Messages by UID

    /// The current `cur/` path of each requested UID that still exists.
    func locate(_ uids: [UInt32], in list: MailboxUIDList) throws -> [(uid: UInt32, entry: MailboxUIDList.Entry, file: MessageFile)] {
        let files = try scan()
        return uids.compactMap { uid in
            guard let entry = list.entry(uid: uid), let file = files[entry.base] else { return nil }
            return (uid, entry, file)
        }
    }

    func fetchBodies(_ uids: [UInt32], list: MailboxUIDList) throws -> [UInt32: [UInt8]] {
        var bodies: [UInt32: [UInt8]] = [:]
        for (uid, _, file) in try locate(uids, in: list) {
            guard let bytes = try Maildir.readFile("\(cur)/\(file.name)") else { continue }
            bodies[uid] = Maildir.toCRLF(bytes)
        }
        return bodies
    }

    func setFlags(_ changes: [UInt32: MessageFlags], list: MailboxUIDList) throws {
        var renamed = false
        for (uid, _, file) in try locate(changes.keys.sorted(), in: list) {
            let target = file.name(with: changes[uid] ?? [])
            guard target != file.name else { continue }
            guard rename("\(cur)/\(file.name)", "\(cur)/\(target)") == 0 else {
                if errno == ENOENT { continue }
                throw StoreError.io(path: "\(cur)/\(file.name)", reason: String(cString: strerror(errno)))
            }
            renamed = true
        }
        if renamed { try FileIO.fsyncDirectory(cur) }
    }

    /// Unlinks the messages `shouldRemove` picks, then rewrites the uidlist (in that
    /// order: a crash in between leaves entries without files, which the next
    /// snapshot drops, never a message that comes back under a new UID).
    func remove(list: inout MailboxUIDList, where shouldRemove: (UInt32, MessageFile) -> Bool) throws -> [UInt32] {
        let files = try scan()
        var removed: Set<UInt32> = []
        for entry in list.entries {
            guard let file = files[entry.base], shouldRemove(entry.uid, file) else { continue }
            guard unlink("\(cur)/\(file.name)") == 0 || errno == ENOENT else {
                throw StoreError.io(path: "\(cur)/\(file.name)", reason: String(cString: strerror(errno)))
            }
            removed.insert(entry.uid)
        }
        guard !removed.isEmpty else { return [] }
        try FileIO.fsyncDirectory(cur)
        list.removeAll { removed.contains($0.uid) }
        try list.save(folder: path)
        return removed.sorted()
    }

    /// Files a message prepared elsewhere (in `tmp/`, or another folder's file to
    /// hard-link) into `cur/` under a new base name and gives it the next UID in
    /// `list`; nil when the source is gone. Call `commit(_:)` after the last one.
    func add(from source: String, link: Bool, base: String, flags: MessageFlags, size: Int,
             list: inout MailboxUIDList) throws -> UInt32? {
        let target = "\(cur)/\(MessageFile(name: base).name(with: flags))"
        var outcome = link ? try Self.linkWithoutReplacing(source, to: target)
                           : try Self.moveWithoutReplacing(source, to: target)
        if outcome == .linkUnsupported {
            // No hard links here: a durable copy with the same internal date.
            guard let bytes = try Maildir.readFile(source) else { return nil }
            let copy = "\(tmp)/\(base)"
            try FileIO.createFile(copy, bytes, mode: 0o600)
            if let date = Maildir.modificationTime(source) { try Maildir.setModificationTime(copy, date) }
            outcome = try Self.moveWithoutReplacing(copy, to: target)
        }
        switch outcome {
        case .moved: break
        case .vanished: return nil
        case .exists, .sameFile, .linkUnsupported: throw StoreError.io(path: target, reason: "file exists")
        }
        return try list.assign(base: base, size: size)
    }

    /// Makes files added by `add` durable and their UIDs permanent.
    func commit(_ list: MailboxUIDList) throws {
        try FileIO.fsyncDirectory(cur)
        try list.save(folder: path)
    }

    // MARK: Moving files

    enum MoveOutcome: Equatable { case moved, vanished, exists, sameFile, linkUnsupported }

    /// `link` + `unlink`, so an existing target is never replaced (rename would);
    /// a plain rename where the file system has no hard links.
    static func moveWithoutReplacing(_ source: String, to target: String) throws -> MoveOutcome {
        switch try linkWithoutReplacing(source, to: target) {
        case .moved:
            unlink(source)
            return .moved
        case .exists:
            var a = stat(), b = stat()
            if stat(source, &a) == 0, stat(target, &b) == 0, a.st_ino == b.st_ino, a.st_dev == b.st_dev {
                return .sameFile
            }
            return .exists
        case .linkUnsupported:
            if access(target, F_OK) == 0 { return .exists }
            guard rename(source, target) == 0 else {
                if errno == ENOENT { return .vanished }
                throw StoreError.io(path: target, reason: String(cString: strerror(errno)))
            }
            return .moved
        case let other:
            return other
        }
    }

    static func linkWithoutReplacing(_ source: String, to target: String) throws -> MoveOutcome {
        if link(source, target) == 0 { return .moved }
        switch errno {
        case EEXIST: return .exists
        case ENOENT: return .vanished
        case EPERM, ENOTSUP, EXDEV, EMLINK: return .linkUnsupported
        default: throw StoreError.io(path: target, reason: "link: " + String(cString: strerror(errno)))
        }
    }
}
