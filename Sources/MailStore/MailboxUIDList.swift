import Foundation
import MailProtocols

/// The UIDs of one Maildir folder, kept in `<folder>/mailedge-uidlist` (after
/// Dovecot's `dovecot-uidlist`):
///
///     V1795931035 N4
///     1 1795931035.M12P3Q4_0.mx 312
///     3 1795931099.M5P3Q9_0.mx 1024
///
/// The header holds UIDVALIDITY and the next UID; each line maps a UID to a message's
/// base file name (without the `:2,` info, so flag changes do not touch this file)
/// and its RFC822 size with CRLF line ends, computed once.
///
/// Read and rewritten only inside `MailboxFolderLock` (the folder's in-process lock
/// plus `flock`), always replaced atomically (temp file, fsync, rename).
struct MailboxUIDList: Equatable {
    struct Entry: Equatable {
        var uid: UInt32
        var base: String
        var size: Int
    }

    static let fileName = "mailedge-uidlist"

    var uidValidity: UInt32
    var nextUID: UInt32
    /// Ascending UIDs.
    private(set) var entries: [Entry]

    init(uidValidity: UInt32) {
        self.uidValidity = uidValidity
        nextUID = 1
        entries = []
    }

    /// Parses the file; nil when the header is unreadable. Damaged entry lines are
    /// skipped: their messages simply get new UIDs above `nextUID`.
    init?(parsing bytes: [UInt8]) {
        let lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: true)
        guard let header = lines.first else { return nil }
        var validity: UInt32?
        var next: UInt32?
        for field in String(decoding: header, as: UTF8.self).split(separator: " ") {
            if field.hasPrefix("V") { validity = UInt32(field.dropFirst()) }
            if field.hasPrefix("N") { next = UInt32(field.dropFirst()) }
        }
        guard let validity, validity != 0, let next else { return nil }
        var entries: [Entry] = []
        var seen: Set<String> = []
        for line in lines.dropFirst() {
            let text = String(decoding: line, as: UTF8.self)
            guard let first = text.firstIndex(of: " "), let last = text.lastIndex(of: " "), first < last,
                  let uid = UInt32(text[..<first]), uid > 0,
                  let size = Int(text[text.index(after: last)...]), size >= 0 else { continue }
            let base = String(text[text.index(after: first)..<last])
            guard !base.isEmpty, seen.insert(base).inserted else { continue }
            entries.append(Entry(uid: uid, base: base, size: size))
        }
        entries.sort { $0.uid < $1.uid }
        // Drop repeated UIDs, keeping the first file that claimed it.
        var unique: [Entry] = []
        for entry in entries where unique.last?.uid != entry.uid { unique.append(entry) }
        uidValidity = validity
        nextUID = max(next, (unique.last?.uid ?? 0) &+ 1, 1)
        self.entries = unique
    }

    /// The UIDVALIDITY of a list whose header is otherwise unreadable, if any.
    static func salvageValidity(_ bytes: [UInt8]) -> UInt32? {
        let header = bytes.prefix { $0 != 0x0A }
        guard header.first == 0x56 else { return nil }  // "V"
        return UInt32(String(decoding: header.dropFirst().prefix { (0x30...0x39).contains($0) }, as: UTF8.self))
    }

    var serialized: [UInt8] {
        var text = "V\(uidValidity) N\(nextUID)\n"
        for entry in entries { text += "\(entry.uid) \(entry.base) \(entry.size)\n" }
        return Array(text.utf8)
    }

    /// Gives `base` the next UID.
    mutating func assign(base: String, size: Int) throws -> UInt32 {
        guard nextUID < UInt32.max else { throw MailboxFailure.io("UID space of the mailbox is exhausted") }
        let uid = nextUID
        nextUID += 1
        entries.append(Entry(uid: uid, base: base, size: size))
        return uid
    }

    /// Drops the entries `remove` picks; returns their UIDs, ascending.
    @discardableResult
    mutating func removeAll(where remove: (Entry) -> Bool) -> [UInt32] {
        let removed = entries.filter(remove).map(\.uid)
        if !removed.isEmpty { entries.removeAll(where: remove) }
        return removed
    }

    func entry(uid: UInt32) -> Entry? {
        // Binary search: entries are sorted by UID.
        var low = 0, high = entries.count - 1
        while low <= high {
            let middle = (low + high) / 2
            if entries[middle].uid == uid { return entries[middle] }
            if entries[middle].uid < uid { low = middle + 1 } else { high = middle - 1 }
        }
        return nil
    }

    func save(folder: String) throws {
        try FileIO.replaceFile("\(folder)/\(Self.fileName)", serialized, mode: 0o600)
    }
}
