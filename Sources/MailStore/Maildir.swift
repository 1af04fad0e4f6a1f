import Foundation

/// Maildir delivery for the embedded store: `var/mail/<user>/{tmp,new,cur}`.
/// A message is written to `tmp/`, fsynced, renamed into `new/` and the folder
/// fsynced before `deliver` returns, so a `250` sent after it is never a lie.
/// Blocking: call from the work pool.
public struct Maildir: Sendable {
    public let root: String         // var/mail
    public let hostName: String

    public init(root: String, hostName: String) {
        self.root = root
        self.hostName = hostName.replacingOccurrences(of: "/", with: "\\057").replacingOccurrences(of: ":", with: "\\072")
    }

    public func folder(for user: String) -> String { "\(root)/\(user)" }

    /// Creates `tmp`, `new` and `cur` for `user` (0700).
    public func create(user: String) throws {
        for sub in ["tmp", "new", "cur"] { try FileIO.makeDirectory("\(folder(for: user))/\(sub)") }
    }

    /// Delivers one copy per user; returns the paths in `new/`. `message` uses CRLF
    /// line ends as on the wire; the file gets LF line ends, as Maildir readers expect.
    @discardableResult
    public func deliver(_ message: [UInt8], returnPath: String, to users: [String], queueID: String) throws -> [String] {
        let body = Self.toLF(message)
        var delivered: [String] = []
        for (index, user) in users.enumerated() {
            try create(user: user)
            let base = folder(for: user)
            let unique = uniqueName(queueID: queueID, index: index)
            let header = Array("Return-Path: <\(returnPath)>\nDelivered-To: \(user)\n".utf8)
            let temporary = "\(base)/tmp/\(unique)"
            try FileIO.createFile(temporary, header + body, mode: 0o600)
            let final = "\(base)/new/\(unique)"
            guard rename(temporary, final) == 0 else {
                let reason = String(cString: strerror(errno))
                unlink(temporary)
                throw StoreError.io(path: final, reason: reason)
            }
            try FileIO.fsyncDirectory("\(base)/new")
            delivered.append(final)
        }
        return delivered
    }

    func uniqueName(queueID: String, index: Int) -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return "\(now.tv_sec).M\(now.tv_nsec / 1000)P\(getpid())Q\(queueID)_\(index).\(hostName)"
    }

    static func toLF(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            if bytes[index] == 13, index + 1 < bytes.count, bytes[index + 1] == 10 {
                out.append(10)
                index += 2
            } else {
                out.append(bytes[index])
                index += 1
            }
        }
        return out
    }
}

/// A random queue identifier, 12 upper-case hex digits, as in Postfix's logs.
public func makeQueueID() -> String {
    (0..<12).map { _ in String(UInt8.random(in: 0..<16), radix: 16, uppercase: true) }.joined()
}
