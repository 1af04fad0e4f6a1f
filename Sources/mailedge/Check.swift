import ArgumentParser
import Foundation
import Config
import Server

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check the configuration and certificate health. Exit 0 when clean, 2 on errors, 1 on warnings with --strict.")

    @OptionGroup var options: ConfigOptions
    @Option(help: "table or json.") var format: OutputFormat = .table
    @Flag(help: "Exit 1 when there are warnings (and no errors).") var strict = false

    func run() throws {
        let config: MailEdgeConfig
        do {
            config = try options.load()
        } catch let error as ConfigError {
            let findings = error.issues.map { HealthCheck.Finding(severity: .error, subject: "\($0.file): \($0.key)", message: $0.message) }
            try report(findings, source: error.issues.first?.file ?? "config")
            throw ExitCode(2)
        }
        let health = HealthCheck(config: config, inventory: config.loadCertificateInventory())
        try report(health.findings, source: config.sourcePath ?? "embedded default")
        if !health.errors.isEmpty { throw ExitCode(2) }
        if strict && !health.warnings.isEmpty { throw ExitCode(1) }
    }

    private func report(_ findings: [HealthCheck.Finding], source: String) throws {
        let errors = findings.filter { $0.severity == .error }.count
        let warnings = findings.count - errors
        if format == .json {
            struct Report: Encodable { var source: String; var errors: Int; var warnings: Int; var findings: [HealthCheck.Finding] }
            try writeJSON(Report(source: source, errors: errors, warnings: warnings, findings: findings))
            return
        }
        if findings.isEmpty {
            print("\(source): OK, no problems found")
            return
        }
        printTable(header: ["Severity", "Subject", "Problem"],
                   rows: findings.sorted { $0.severity > $1.severity }.map { [$0.severity.rawValue, $0.subject, $0.message] })
        print("\(errors) error(s), \(warnings) warning(s)")
    }
}
