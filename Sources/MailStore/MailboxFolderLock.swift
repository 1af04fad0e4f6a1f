import Foundation
import Synchronization

/// Serialises the read-modify-write of a Maildir folder's uidlist (and the renames
/// that go with it) across threads and processes: first an in-process lock per folder
/// path, then an exclusive `flock` on the folder's `mailedge-uidlist.lock`, so a
/// second process (the `mailedge` CLI) is safe too.
///
/// The `flock` is on a separate lock file because the uidlist itself is replaced by
/// rename: a lock on the old inode would not exclude a process that opened the new one.
/// Shared by all work-pool threads of one `MailboxStore`; entries exist only while a
/// thread holds or waits for them.
final class MailboxFolderLock: Sendable {
    static let fileName = "mailedge-uidlist.lock"

    /// One folder's in-process lock. `waiters` is only read and written while holding
    /// `MailboxFolderLock.entries`, which makes the unchecked Sendable safe.
    private final class Entry: @unchecked Sendable {
        let lock = NSLock()
        var waiters = 0
    }

    private let entries = Mutex<[String: Entry]>([:])

    /// Runs `body` while holding the lock of `folder` (which must exist).
    func withLock<T>(_ folder: String, _ body: () throws -> T) throws -> T {
        let entry = entries.withLock { table -> Entry in
            let entry = table[folder] ?? Entry()
            entry.waiters += 1
            table[folder] = entry
            return entry
        }
        entry.lock.lock()
        defer {
            entry.lock.unlock()
            entries.withLock { table in
                entry.waiters -= 1
                if entry.waiters == 0 { table[folder] = nil }
            }
        }
        let path = "\(folder)/\(Self.fileName)"
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw StoreError.io(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }  // releases the flock
        while flock(fd, LOCK_EX) != 0 {
            guard errno == EINTR else { throw StoreError.io(path: path, reason: "flock: " + String(cString: strerror(errno))) }
        }
        return try body()
    }
}
