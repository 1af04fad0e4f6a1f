import XCTest
@testable import Config

/// Helpers shared by the config tests: parse TOML text and look at the issues.
enum ConfigTestSupport {
    static let hostName = "mail01.contoso.com"
    static let file = "test.toml"

    /// One valid smtp connector, to which a test adds the tables it is about.
    static let minimalConnector = """
    [[connector]]
    name = "Default Frontend"
    protocol = "smtp"
    bind = ["127.0.0.1:2525"]

    """

    static func parse(_ text: String) throws -> MailEdgeConfig {
        try MailEdgeConfig.parse(text, path: file, hostName: hostName)
    }

    /// The issues of a config that must fail to load.
    static func issues(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> [ConfigIssue] {
        do {
            let config = try MailEdgeConfig.parse(text, path: Self.file, hostName: hostName)
            XCTFail("expected the config to be refused, got \(config)", file: file, line: line)
            return []
        } catch {
            return error.issues
        }
    }

    /// Asserts the config is refused with an issue at `key` whose message contains `message`.
    @discardableResult
    static func assertIssue(
        _ text: String, key: String, contains message: String,
        file: StaticString = #filePath, line: UInt = #line
    ) -> [ConfigIssue] {
        let found = issues(text, file: file, line: line)
        if !found.contains(where: { $0.key == key && $0.message.contains(message) }) {
            XCTFail("no issue at \(key) containing \"\(message)\"; got:\n\(found.map(\.description).joined(separator: "\n"))",
                    file: file, line: line)
        }
        return found
    }
}
