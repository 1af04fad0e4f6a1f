import Foundation

/// The users of the embedded store: `var/users`, one `name:hash` per line, mode 0600.
/// Blocking (file I/O and a slow KDF): call from the CLI or a work pool. Writers
/// take an exclusive `flock` so two `mailedge user` commands cannot lose an update.
public struct UserDatabase: Sendable {
    public let path: String

    public init(path: String) { self.path = path }

    public static func isValidName(_ name: String) -> Bool {
        guard (1...64).contains(name.utf8.count), let first = name.unicodeScalars.first,
              first != ".", first != "-" else { return false }
        return name.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "." || $0 == "_" || $0 == "-" }
    }

    /// Name -> stored hash.
    public func load() throws -> [String: String] {
        guard let data = FileManager.default.contents(atPath: path) else {
            if FileManager.default.fileExists(atPath: path) { throw StoreError.io(path: path, reason: "cannot read") }
            return [:]
        }
        var users: [String: String] = [:]
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            users[String(line[..<colon])] = String(line[line.index(after: colon)...])
        }
        return users
    }

    public func exists(_ name: String) -> Bool { ((try? load()) ?? [:])[name.lowercased()] != nil }

    public func verify(_ name: String, password: String) -> Bool {
        guard let stored = ((try? load()) ?? [:])[name.lowercased()] else {
            // Spend the same time on unknown users so timing does not reveal them.
            _ = PasswordHash.verify(password: password, against: Self.dummyHash)
            return false
        }
        return PasswordHash.verify(password: password, against: stored)
    }

    public func add(_ name: String, password: String) throws {
        let name = name.lowercased()
        guard Self.isValidName(name) else { throw StoreError.invalidUserName(name) }
        guard !password.isEmpty else { throw StoreError.emptyPassword }
        let hash = try PasswordHash.make(password: password)
        try update { users in
            guard users[name] == nil else { throw StoreError.userExists(name) }
            users[name] = hash
        }
    }

    public func setPassword(_ name: String, password: String) throws {
        let name = name.lowercased()
        guard !password.isEmpty else { throw StoreError.emptyPassword }
        let hash = try PasswordHash.make(password: password)
        try update { users in
            guard users[name] != nil else { throw StoreError.noSuchUser(name) }
            users[name] = hash
        }
    }

    public func remove(_ name: String) throws {
        let name = name.lowercased()
        try update { users in
            guard users.removeValue(forKey: name) != nil else { throw StoreError.noSuchUser(name) }
        }
    }

    private func update(_ change: (inout [String: String]) throws -> Void) throws {
        let folder = (path as NSString).deletingLastPathComponent
        if !folder.isEmpty { try FileIO.makeDirectory(folder) }
        let lockPath = path + ".lock"
        let lock = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard lock >= 0 else { throw StoreError.io(path: lockPath, reason: String(cString: strerror(errno))) }
        defer { close(lock) }
        flock(lock, LOCK_EX)
        var users = try load()
        try change(&users)
        let text = users.keys.sorted().map { "\($0):\(users[$0]!)\n" }.joined()
        try FileIO.replaceFile(path, Array(text.utf8), mode: 0o600)
    }

    private static let dummyHash = (try? PasswordHash.make(password: "not a real user")) ?? ""
}
