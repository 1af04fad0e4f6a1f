import ArgumentParser
import Foundation
import Certificates
import Config
import Server

/// `mailedge cert ...`: Exchange's certificate cmdlets for MailEdge.
struct Cert: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage certificates: list, show, new, request, import, enable, remove, export.",
        subcommands: [CertList.self, CertShow.self, CertNew.self, CertRequest.self, CertImport.self,
                      CertEnable.self, CertRemove.self, CertExport.self, CertTest.self])
}

enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case table, list, json
}

/// A failure the operator caused: printed as one line, exit code 1.
struct CommandFailure: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

/// Runs a command body; `CommandFailure` and store errors become "error: ..." and exit 1.
func reportingFailures(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let failure as CommandFailure {
        printError("error: \(failure.message)")
        throw ExitCode(1)
    } catch let error as ConfigError {
        for issue in error.issues { printError("error: \(issue)") }
        throw ExitCode(2)
    } catch let error as ExitCode {
        throw error
    } catch let error as ValidationError {
        throw error
    } catch {
        printError("error: \(error)")
        throw ExitCode(1)
    }
}

func parseServices(_ text: String) throws -> [CertificateService] {
    var services: [CertificateService] = []
    for part in text.split(separator: ",") {
        let name = part.trimmingCharacters(in: .whitespaces)
        guard let service = CertificateService(configName: name) else {
            throw CommandFailure(message: "unknown service \"\(name)\" (expected smtp, imap, pop, https)")
        }
        if !services.contains(service) { services.append(service) }
    }
    return services
}

func parseKeyKind(_ text: String) throws -> PrivateKey.Kind {
    switch text.lowercased() {
    case "rsa2048": return .rsa(bits: 2048)
    case "rsa3072": return .rsa(bits: 3072)
    case "rsa4096": return .rsa(bits: 4096)
    case "ecdsa-p256", "p256", "p-256": return .ecdsa(curve: "P-256")
    case "ecdsa-p384", "p384", "p-384": return .ecdsa(curve: "P-384")
    default: throw CommandFailure(message: "unknown key type \"\(text)\" (expected rsa2048, rsa3072, rsa4096, ecdsa-p256, ecdsa-p384)")
    }
}

func lookup(_ prefix: String, in inventory: CertificateInventory) throws -> CertificateRecord {
    switch inventory.find(prefix) {
    case .found(let record): return record
    case .notFound:
        throw CommandFailure(message: prefix.count < 8
            ? "a thumbprint prefix needs at least 8 characters, got \"\(prefix)\""
            : "no certificate has a thumbprint starting with \"\(prefix)\"")
    case .ambiguous(let thumbprints):
        throw CommandFailure(message: "\"\(prefix)\" matches \(thumbprints.count) certificates: \(thumbprints.map(\.hex).joined(separator: ", "))")
    }
}

func writeJSON<T: Encodable>(_ value: T) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}

/// Writes a file the operator asked for; keys and bundles with keys get 0600.
func writeOutput(_ bytes: [UInt8], to path: String, secret: Bool) throws {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, secret ? 0o600 : 0o644)
    guard fd >= 0 else { throw CommandFailure(message: "\(path): \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    if secret { fchmod(fd, 0o600) }
    var offset = 0
    while offset < bytes.count {
        let n = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard n > 0 else { throw CommandFailure(message: "\(path): \(String(cString: strerror(errno)))") }
        offset += n
    }
}
