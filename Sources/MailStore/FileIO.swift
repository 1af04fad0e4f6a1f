import Foundation

/// Small POSIX helpers for durable writes: data is fsynced before a file becomes
/// visible under its final name, and the folder is fsynced after the rename.
enum FileIO {
    static func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String) throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw StoreError.io(path: path, reason: String(cString: strerror(errno)))
            }
            offset += n
        }
    }

    static func fsyncDirectory(_ path: String) throws {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw StoreError.io(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw StoreError.io(path: path, reason: "fsync: " + String(cString: strerror(errno))) }
    }

    /// Writes `bytes` to a new file `path` created with `mode`, fsynced.
    static func createFile(_ path: String, _ bytes: [UInt8], mode: mode_t) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw StoreError.io(path: path, reason: String(cString: strerror(errno))) }
        do {
            try writeAll(fd, bytes, path: path)
            guard fsync(fd) == 0 else { throw StoreError.io(path: path, reason: "fsync: " + String(cString: strerror(errno))) }
            close(fd)
        } catch {
            close(fd)
            unlink(path)
            throw error
        }
    }

    /// Replaces `path` atomically: temp file, fsync, rename, fsync of the folder.
    static func replaceFile(_ path: String, _ bytes: [UInt8], mode: mode_t) throws {
        let temporary = "\(path).tmp.\(getpid())"
        unlink(temporary)
        try createFile(temporary, bytes, mode: mode)
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw StoreError.io(path: path, reason: reason)
        }
        try fsyncDirectory((path as NSString).deletingLastPathComponent.isEmpty ? "." : (path as NSString).deletingLastPathComponent)
    }

    static func makeDirectory(_ path: String, mode: mode_t = 0o700) throws {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: Int(mode)])
        } catch {
            throw StoreError.io(path: path, reason: "cannot create folder: \(error.localizedDescription)")
        }
    }
}
