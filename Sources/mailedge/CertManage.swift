import ArgumentParser
import Foundation
import Certificates
import Server

struct CertEnable: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "enable", abstract: "Enable a certificate for services [Enable-ExchangeCertificate]; takes effect at the next start.")
    @OptionGroup var options: ConfigOptions
    @Argument(help: "Thumbprint or a unique prefix of 8 or more characters.") var thumbprint: String
    @Option(help: "Comma-separated services to add: smtp, imap, pop, https.") var services: String

    func run() throws {
        try reportingFailures {
            let config = try options.load()
            let record = try lookup(thumbprint, in: config.loadCertificateInventory())
            guard case .store = record.source else {
                throw CommandFailure(message: "certificate \(record.thumbprint.hex) is read from the config ([[certificate]] \(record.certificate.certificatePath)): set its services there")
            }
            guard record.hasPrivateKey else { throw CommandFailure(message: "certificate \(record.thumbprint.hex) has no private key and cannot be enabled") }
            let added = try parseServices(services)
            guard !added.isEmpty else { throw CommandFailure(message: "give at least one service") }
            if record.isECC && record.certificate.metadata.friendlyName == DefaultCertificate.authCertificate.friendlyName {
                throw CommandFailure(message: "the Auth certificate must be RSA; ECC keys are refused for it")
            }
            var metadata = record.certificate.metadata
            for service in added where !metadata.services.contains(service) { metadata.services.append(service) }
            try CertificateStore(directory: config.server.certStore).updateMetadata(of: record.thumbprint, metadata)
            print("\(record.thumbprint.hex) enabled for \(metadata.services.map(\.rawValue).joined(separator: ", "))")
            if record.isECC && !config.tls.eccCertificateSupport {
                printError("warning: \(record.thumbprint.hex.prefix(16)) is an ECC certificate and tls.ecc_certificate_support is off: it will not be presented until you turn it on")
            }
            if record.status != .valid {
                printError("warning: its status is \(record.status.rawValue)\(record.validation.reason.map { ": \($0)" } ?? "")")
            }
        }
    }
}

struct CertRemove: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "remove", abstract: "Remove a certificate from the store [Remove-ExchangeCertificate].")
    @OptionGroup var options: ConfigOptions
    @Argument(help: "Thumbprint or a unique prefix of 8 or more characters.") var thumbprint: String
    @Flag(help: "Remove it even when a connector pins it.") var force = false

    func run() throws {
        try reportingFailures {
            let config = try options.load()
            let record = try lookup(thumbprint, in: config.loadCertificateInventory())
            guard case .store = record.source else {
                throw CommandFailure(message: "certificate \(record.thumbprint.hex) is read from the config; remove its [[certificate]] entry instead")
            }
            let pinning = config.connectors.filter { connector in
                connector.certificate.map { CertificateResolver.pinMatches($0, record) } ?? false
            }
            if !pinning.isEmpty && !force {
                throw CommandFailure(message: "certificate \(record.thumbprint.hex) is pinned by connector(s) \(pinning.map { "\"\($0.name)\"" }.joined(separator: ", ")); change the pin first or use --force")
            }
            try CertificateStore(directory: config.server.certStore).remove(record.thumbprint)
            print("removed \(record.thumbprint.hex)  \(record.leaf.subject)")
        }
    }
}

struct CertExport: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "export", abstract: "Export a certificate with its key as PEM or PKCS#12 [Export-ExchangeCertificate].")
    @OptionGroup var options: ConfigOptions
    @Argument(help: "Thumbprint or a unique prefix of 8 or more characters.") var thumbprint: String
    @Option(help: "Output file.") var out: String
    @Option(help: "pem or pkcs12.") var type: String = "pem"
    @Flag(help: "Read the PKCS#12 password from standard input.") var passwordStdin = false
    @Flag(help: "Export the certificate chain only, without the private key.") var certificateOnly = false

    func run() throws {
        try reportingFailures {
            let config = try options.load()
            let record = try lookup(thumbprint, in: config.loadCertificateInventory())
            let chainPEM = try record.certificate.chain.flatMap { try $0.pem() }
            if certificateOnly {
                try writeOutput(chainPEM, to: out, secret: false)
                print("exported the certificate chain of \(record.thumbprint.hex) to \(out)")
                return
            }
            guard let key = record.certificate.key else { throw CommandFailure(message: "certificate \(record.thumbprint.hex) has no private key; use --certificate-only") }
            guard record.certificate.metadata.exportable else {
                throw CommandFailure(message: "the private key of \(record.thumbprint.hex) (\(record.certificate.metadata.friendlyName)) is not exportable; use --certificate-only for the certificate alone")
            }
            switch type.lowercased() {
            case "pem":
                try writeOutput(chainPEM + (try key.pem()), to: out, secret: true)
            case "pkcs12", "pfx", "p12":
                guard passwordStdin else { throw CommandFailure(message: "PKCS#12 export needs a password: --password-stdin") }
                let password = try readPasswordFromStdin(allowEmpty: false)
                let bundle = try PKCS12Bundle.make(key: key, chain: record.certificate.chain, password: password,
                                                   friendlyName: record.certificate.metadata.friendlyName)
                try writeOutput(bundle, to: out, secret: true)
            default:
                throw CommandFailure(message: "unknown --type \"\(type)\" (expected pem or pkcs12)")
            }
            print("exported \(record.thumbprint.hex) with its private key to \(out) (mode 0600)")
        }
    }
}
