import ArgumentParser
import Foundation
import Certificates
import Server

struct CertImport: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import an issued certificate (matched to its pending request) or a PEM/PKCS#12 bundle with its key [Import-ExchangeCertificate].")
    @OptionGroup var options: ConfigOptions
    @Argument(help: "PEM (certificate and chain, optionally the key) or PKCS#12 (.pfx/.p12) file.") var file: String
    @Option(help: "A separate PEM private key file.") var key: String?
    @Flag(help: "Read the PKCS#12 password from standard input.") var passwordStdin = false
    @Option(help: "Services to enable (default: those of the pending request, else none).") var services: String?
    @Option(help: "Friendly name (default: the request's, else the subject CN).") var friendlyName: String?
    @Flag(help: "Mark the private key exportable.") var exportable = false

    func run() throws {
        try reportingFailures {
            let config = try options.load()
            guard let data = FileManager.default.contents(atPath: file) else {
                throw CommandFailure(message: "\(file): cannot read file")
            }
            let bytes = Array(data)
            var certificates: [X509Certificate]
            var privateKey: PrivateKey?
            if bytes.starts(with: Array("-----BEGIN".utf8)) || String(decoding: bytes.prefix(4096), as: UTF8.self).contains("-----BEGIN") {
                do {
                    certificates = try X509Certificate.loadAll(pem: bytes)
                } catch {
                    throw CommandFailure(message: "\(file): not a usable PEM certificate file: \(error)")
                }
                if String(decoding: bytes, as: UTF8.self).contains("PRIVATE KEY-----") {
                    privateKey = try? PrivateKey.load(pem: bytes)
                    if privateKey == nil { throw CommandFailure(message: "\(file): the private key in the file cannot be read (encrypted keys are not supported; decrypt it with openssl pkey first)") }
                }
            } else {
                guard passwordStdin else { throw CommandFailure(message: "\(file) looks like PKCS#12: pass its password with --password-stdin") }
                let password = try readPasswordFromStdin(allowEmpty: true)
                do {
                    let bundle = try PKCS12Bundle.parse(bytes, password: password)
                    certificates = bundle.chain
                    privateKey = bundle.key
                } catch {
                    throw CommandFailure(message: "\(file): \(error)")
                }
            }
            if let key {
                guard let keyData = FileManager.default.contents(atPath: key) else { throw CommandFailure(message: "\(key): cannot read file") }
                do { privateKey = try PrivateKey.load(pem: Array(keyData)) } catch {
                    throw CommandFailure(message: "\(key): not a usable PEM private key: \(error)")
                }
            }
            guard !certificates.isEmpty else { throw CommandFailure(message: "\(file): no certificate in the file") }

            let requests = PendingRequestStore(storeDirectory: config.server.certStore)
            var pending: PendingRequest?
            if privateKey == nil {
                pending = certificates.lazy.compactMap { requests.request(for: $0) }.first
                privateKey = pending?.key
            }
            guard let privateKey else {
                throw CommandFailure(message: "no private key for \(certificates[0].subject): it is not in \(file), no pending request (certs/requests) matches its public key, and no --key was given")
            }
            let arranged = CertificateChainOrder.arrange(certificates, key: privateKey)
            guard arranged.chain[0].matches(privateKey) else {
                throw CommandFailure(message: arranged.problem ?? "no certificate in \(file) matches the private key")
            }
            if let problem = arranged.problem { printError("note: \(problem)") }
            let leaf = arranged.chain[0]

            let inventory = config.loadCertificateInventory()
            if inventory.records.contains(where: { $0.thumbprint == leaf.thumbprint }) {
                throw CommandFailure(message: "certificate \(leaf.thumbprint.hex) is already in the store")
            }
            let serviceList = try services.map(parseServices) ?? pending?.metadata.services ?? []
            if leaf.publicKeyAlgorithm == "ECC" && (friendlyName ?? pending?.metadata.friendlyName) == DefaultCertificate.authCertificate.friendlyName {
                throw CommandFailure(message: "the Auth certificate must be RSA; ECC keys are refused for it")
            }
            let metadata = CertificateMetadata(
                friendlyName: friendlyName ?? pending?.metadata.friendlyName ?? leaf.commonName ?? leaf.subject,
                services: serviceList, exportable: exportable || (pending?.metadata.exportable ?? false),
                origin: pending == nil ? "imported" : "request")
            let stored = try CertificateStore(directory: config.server.certStore).add(chain: arranged.chain, key: privateKey, metadata: metadata)
            if let pending { requests.remove(pending) }
            print("imported \(stored.thumbprint.hex)  \(leaf.subject)  chain of \(arranged.chain.count)  services: \(serviceList.isEmpty ? "none (use mailedge cert enable)" : serviceList.map(\.rawValue).joined(separator: ", "))")
            if leaf.publicKeyAlgorithm == "ECC" && !serviceList.isEmpty && !config.tls.eccCertificateSupport {
                printError("warning: tls.ecc_certificate_support is off: this ECC certificate will not be presented")
            }
        }
    }
}
