import ArgumentParser
import Foundation
import Logging
import Config

@main
struct MailEdgeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mailedge",
        abstract: "A TLS endpoint for mail: SMTP receive connectors with STARTTLS and implicit TLS.",
        subcommands: [Serve.self, Check.self, Cert.self, User.self])
}

/// Options shared by the commands that read the configuration.
struct ConfigOptions: ParsableArguments {
    @Option(name: .shortAndLong, help: "Configuration file (TOML). Default: ./mailedge.toml if present, else the embedded default.")
    var config: String?

    func load() throws -> MailEdgeConfig {
        let host = hostName()
        if let path = config {
            return try MailEdgeConfig.load(path: path, hostName: host)
        }
        if FileManager.default.fileExists(atPath: "mailedge.toml") {
            return try MailEdgeConfig.load(path: "mailedge.toml", hostName: host)
        }
        return MailEdgeConfig.embeddedDefault(hostName: host)
    }
}

func hostName() -> String {
    var buffer = [CChar](repeating: 0, count: 256)
    guard gethostname(&buffer, buffer.count) == 0 else { return "localhost" }
    let name = String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    return name.isEmpty ? "localhost" : name.lowercased()
}

/// Prints to standard error (the C `stderr` global is off-limits in Swift 6).
func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

/// Reads a password from standard input: everything up to the first line end.
func readPasswordFromStdin(allowEmpty: Bool = false) throws -> String {
    let data = FileHandle.standardInput.readDataToEndOfFile()
    var text = String(decoding: data, as: UTF8.self)
    if let end = text.firstIndex(where: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" }) { text = String(text[..<end]) }
    guard allowEmpty || !text.isEmpty else { throw ValidationError("no password on standard input") }
    return text
}
