import ArgumentParser
import Foundation
import Logging
import Config
import Server

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Validate the configuration and the certificates it needs; exit 2 on errors.")

    @OptionGroup var options: ConfigOptions

    func run() throws {
        let config: MailEdgeConfig
        do {
            config = try options.load()
        } catch let error as ConfigError {
            for issue in error.issues { print("error: \(issue)") }
            print("\(error.issues.count) error(s)")
            throw ExitCode(2)
        }
        print("configuration OK: \(config.sourcePath ?? "embedded default"), \(config.connectors.count) connector(s)")
        for connector in config.connectors {
            print("  \(connector.name): \(connector.protocol.rawValue) on \(connector.bind.map(\.description).joined(separator: ", ")) tls=\(connector.tls.rawValue)\(connector.requireTLS ? " require_tls" : "")")
        }
    }
}
