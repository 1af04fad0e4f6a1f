import ArgumentParser
import Foundation
import Certificates
import Server

struct CertList: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List certificates and pending requests [Get-ExchangeCertificate].")
    @OptionGroup var options: ConfigOptions
    @Option(help: "table, list (every property) or json.") var format: OutputFormat = .table

    func run() throws {
        try reportingFailures {
            let config = try options.load()
            let inventory = config.loadCertificateInventory()
            let all = inventory.records.map(CertificateProperties.init) + inventory.requests.map(CertificateProperties.init(pending:))
            switch format {
            case .json:
                try writeJSON(all)
            case .list:
                for (index, properties) in all.enumerated() {
                    if index > 0 { print("") }
                    printList(properties)
                }
            case .table:
                let rows = all.map { p in
                    [p.Thumbprint, p.Services.isEmpty ? "-" : p.Services.joined(separator: ","), p.Subject,
                     p.NotAfter.isEmpty ? "-" : String(p.NotAfter.prefix(10)), p.Status]
                }
                printTable(header: ["Thumbprint", "Services", "Subject", "NotAfter", "Status"], rows: rows)
            }
            for problem in inventory.problems { printError("warning: \(problem)") }
        }
    }
}

struct CertShow: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "Show one certificate's properties.")
    @OptionGroup var options: ConfigOptions
    @Argument(help: "Thumbprint or a unique prefix of 8 or more characters.") var thumbprint: String
    @Option(help: "list or json.") var format: OutputFormat = .list

    func run() throws {
        try reportingFailures {
            let inventory = try options.load().loadCertificateInventory()
            let properties: CertificateProperties
            if let request = inventory.requests.first(where: { $0.id.hasPrefix(thumbprint.lowercased()) && thumbprint.count >= 8 }) {
                properties = CertificateProperties(pending: request)
            } else {
                properties = CertificateProperties(try lookup(thumbprint, in: inventory))
            }
            if format == .json { try writeJSON(properties) } else { printList(properties) }
        }
    }
}

func printList(_ properties: CertificateProperties) {
    let lines = properties.listLines
    let width = lines.map(\.0.count).max() ?? 0
    for (name, value) in lines {
        print(name.padding(toLength: width, withPad: " ", startingAt: 0) + " : " + value)
    }
}

func printTable(header: [String], rows: [[String]]) {
    let widths = header.indices.map { column in
        ([header[column]] + rows.map { $0[column] }).map(\.count).max() ?? 0
    }
    func line(_ cells: [String]) -> String {
        cells.enumerated().map { index, cell in
            index == cells.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
        }.joined(separator: "  ")
    }
    print(line(header))
    print(line(widths.map { String(repeating: "-", count: $0) }))
    for row in rows { print(line(row)) }
}
