import Foundation

/// POSIX file helpers of the Maildir mailbox store (`MailboxStore`), and the line-end
/// conversion between the LF files on disk and the CRLF clients see. Blocking; called
/// from the work pool only.
extension Maildir {
    /// The whole file, or nil when it does not exist (any more: a concurrent expunge
    /// or flag change may have renamed or removed it).
    static func readFile(_ path: String) throws -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ENOENT { return nil }
            throw StoreError.io(path: path, reason: String(cString: strerror(errno)))
        }
        defer { close(fd) }
        var info = stat()
        let expected = fstat(fd, &info) == 0 ? Int(info.st_size) : 0
        var bytes = [UInt8](repeating: 0, count: max(expected, 0) + 1)
        var count = 0
        while true {
            if count == bytes.count { bytes.append(contentsOf: repeatElement(0, count: max(count, 4096))) }
            let n = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress! + count, $0.count - count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw StoreError.io(path: path, reason: String(cString: strerror(errno)))
            }
            if n == 0 { break }
            count += n
        }
        bytes.removeSubrange(count...)
        return bytes
    }

    /// Names in a folder (without "." and ".."), or nil when the folder does not
    /// exist. Names that are not valid UTF-8 are left out: they cannot be Maildir
    /// names this store wrote, and skipping them never deletes them.
    static func directoryEntries(_ path: String) throws -> [String]? {
        guard let dir = opendir(path) else {
            if errno == ENOENT || errno == ENOTDIR { return nil }
            throw StoreError.io(path: path, reason: String(cString: strerror(errno)))
        }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: &entry.pointee.d_name) { pointer in
                pointer.withMemoryRebound(to: CChar.self, capacity: Int(NAME_MAX) + 1) {
                    String(validatingCString: $0)
                }
            }
            guard let name, name != ".", name != ".." else { continue }
            names.append(name)
        }
        return names
    }

    /// `rename(2)`, callable where a method named `rename` hides the C function.
    static func renameFile(_ source: String, _ target: String) -> Bool {
        rename(source, target) == 0
    }

    static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    /// The file's mtime, the message's internal date; nil when it is gone.
    static func modificationTime(_ path: String) -> Date? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return Date(timeIntervalSince1970: Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) / 1e9)
    }

    static func setModificationTime(_ path: String, _ date: Date) throws {
        let seconds = date.timeIntervalSince1970.rounded(.down)
        let time = timespec(tv_sec: Int(seconds), tv_nsec: Int((date.timeIntervalSince1970 - seconds) * 1e9))
        var times = [time, time]
        guard utimensat(AT_FDCWD, path, &times, 0) == 0 else {
            throw StoreError.io(path: path, reason: "utimensat: " + String(cString: strerror(errno)))
        }
    }

    /// A new Maildir unique name: `<sec>.M<usec>P<pid>Q<random>_<n>.<host>`.
    func newUniqueName() -> String {
        uniqueName(queueID: makeQueueID(), index: 0)
    }

    /// Bare LF becomes CRLF; CRLF stays as it is.
    static func toCRLF(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + bytes.count / 32)
        var previous: UInt8 = 0
        for byte in bytes {
            if byte == 10, previous != 13 { out.append(13) }
            out.append(byte)
            previous = byte
        }
        return out
    }

    /// The size `toCRLF` would produce (RFC822.SIZE), without building it.
    static func crlfSize(_ bytes: [UInt8]) -> Int {
        var size = bytes.count
        var previous: UInt8 = 0
        for byte in bytes {
            if byte == 10, previous != 13 { size += 1 }
            previous = byte
        }
        return size
    }
}
