/// One thing wrong with a config file, with the key path that holds it
/// (`connector[1].bind[0]`, `tls.protocols`, or `(syntax)` for a TOML syntax error).
public struct ConfigIssue: Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var key: String
    public var message: String

    public init(file: String, key: String, message: String) {
        self.file = file
        self.key = key
        self.message = message
    }

    /// "<file>: <key>: <message>"
    public var description: String { "\(file): \(key): \(message)" }
}

/// Every issue found in one config file: the loader validates the whole file and
/// reports all problems at once (`mailedge check`), never only the first.
public struct ConfigError: Error, Sendable, CustomStringConvertible {
    public var issues: [ConfigIssue]

    public init(issues: [ConfigIssue]) {
        self.issues = issues
    }

    /// One issue per line.
    public var description: String {
        issues.map(\.description).joined(separator: "\n")
    }
}
