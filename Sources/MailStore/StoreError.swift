/// Failures of the embedded store, with the path or name involved.
public enum StoreError: Error, Sendable, CustomStringConvertible, Equatable {
    case io(path: String, reason: String)
    case invalidUserName(String)
    case userExists(String)
    case noSuchUser(String)
    case emptyPassword
    case crypto(String)

    public var description: String {
        switch self {
        case .io(let path, let reason): return "\(path): \(reason)"
        case .invalidUserName(let name): return "invalid user name \"\(name)\": use 1-64 characters a-z, 0-9, '.', '_', '-', not starting with '.' or '-'"
        case .userExists(let name): return "user \(name) already exists"
        case .noSuchUser(let name): return "no user \(name)"
        case .emptyPassword: return "the password is empty"
        case .crypto(let what): return what
        }
    }
}
