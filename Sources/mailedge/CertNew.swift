import ArgumentParser
import Foundation
import Certificates
import Server

struct CertNew: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "new", abstract: "Create a self-signed certificate [New-ExchangeCertificate].")
    @OptionGroup var options: ConfigOptions
    @Option(help: "Subject, e.g. \"CN=mail.contoso.com, O=Contoso\". Default: CN = the first domain.") var subject: String?
    @Option(help: "Comma-separated DNS names for the SAN.") var domains: String?
    @Option(help: "rsa2048, rsa3072, rsa4096, ecdsa-p256 or ecdsa-p384.") var key: String = "rsa2048"
    @Option(help: "Validity in days.") var days: Int = 1826
    @Option(help: "Comma-separated services: smtp, imap, pop, https.") var services: String = ""
    @Option(help: "Friendly name. Default: the subject CN.") var friendlyName: String?
    @Flag(help: "Allow exporting the private key later.") var exportable = false
    @Flag(help: "Create it as the SMTP Auth certificate (always RSA).") var auth = false

    func run() throws {
        try reportingFailures {
            let config = try options.load()
            let names = (domains ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            var attributes = try subject.map { text -> [SubjectAttribute] in
                guard let parsed = SubjectAttribute.parse(text) else {
                    throw CommandFailure(message: "cannot read subject \"\(text)\" (expected e.g. CN=mail.contoso.com, O=Contoso)")
                }
                return parsed
            } ?? []
            if !attributes.contains(where: { $0.field == "CN" }) {
                guard let first = names.first else { throw CommandFailure(message: "give --subject CN=... or --domains") }
                attributes.insert(SubjectAttribute(field: "CN", value: first), at: 0)
            }
            let commonName = attributes.first { $0.field == "CN" }!.value
            for name in names + [commonName] {
                if let problem = CertificateNameMatcher.wildcardProblem(name) { throw CommandFailure(message: problem) }
            }
            guard days > 0 && days <= 36_500 else { throw CommandFailure(message: "--days must be between 1 and 36500") }
            let kind = try parseKeyKind(key)
            let friendly = friendlyName ?? (auth ? DefaultCertificate.authCertificate.friendlyName : commonName)
            if case .ecdsa = kind, auth || friendly == DefaultCertificate.authCertificate.friendlyName {
                throw CommandFailure(message: "the Auth certificate must be RSA; ECC keys are refused for it")
            }
            let serviceList = try parseServices(services)
            let privateKey = try PrivateKey.generate(kind)
            var profile = CertificateProfile(commonName: commonName, dnsNames: names, validity: .days(days),
                                             keyUsage: ["digitalSignature", "keyEncipherment"],
                                             extendedKeyUsage: ["serverAuth"], basicConstraintsCA: false)
            if case .ecdsa = kind { profile.keyUsage = ["digitalSignature"] }
            profile.additionalSubject = attributes.filter { $0.field != "CN" }
            let certificate = try profile.selfSign(key: privateKey)
            let stored = try CertificateStore(directory: config.server.certStore).add(
                chain: [certificate], key: privateKey,
                metadata: CertificateMetadata(friendlyName: friendly, services: serviceList, exportable: exportable, origin: "self-signed"))
            print("created \(stored.thumbprint.hex)  \(certificate.subject)  services: \(serviceList.map(\.rawValue).joined(separator: ", "))")
            if certificate.publicKeyAlgorithm == "ECC" && !serviceList.isEmpty && !config.tls.eccCertificateSupport {
                printError("warning: tls.ecc_certificate_support is off: this ECC certificate will not be presented")
            }
        }
    }
}

struct CertRequest: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "request",
        abstract: "Create a key and a CSR for a CA [New-ExchangeCertificate -GenerateRequest]; without --domains, the wizard derives the names from the config.")
    @OptionGroup var options: ConfigOptions
    @Option(help: "Comma-separated DNS names. Omit (or --wizard) to derive them from the config.") var domains: String?
    @Flag(help: "Derive the names from the connectors and accepted domains, and say why each is needed.") var wizard = false
    @Option(help: "Subject; default CN = the first name.") var subject: String?
    @Option(help: "rsa2048, rsa3072, rsa4096, ecdsa-p256 or ecdsa-p384.") var key: String = "rsa2048"
    @Option(help: "Services to enable when the certificate is imported.") var services: String = "smtp"
    @Option(help: "Friendly name.") var friendlyName: String?
    @Flag(help: "Allow exporting the private key later.") var exportable = false
    @Option(help: "Also write the CSR to this file.") var out: String?

    func run() throws {
        try reportingFailures {
            let config = try options.load()
            var names: [String]
            if wizard || domains == nil {
                let plan = CertificateNamePlan(config: config)
                print("Names derived from \(config.sourcePath ?? "the embedded default"):")
                for name in plan.names {
                    print("  \(name.name)")
                    for reason in name.reasons { print("      because: \(reason)") }
                }
                for warning in plan.warnings { printError("warning: \(warning)") }
                names = plan.names.map(\.name)
                if let extra = domains {
                    names += extra.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }.filter { !names.contains($0) }
                }
            } else {
                names = domains!.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            }
            guard !names.isEmpty else { throw CommandFailure(message: "no names: give --domains") }
            for name in names {
                if let problem = CertificateNameMatcher.wildcardProblem(name) { throw CommandFailure(message: problem) }
            }
            var attributes = try subject.map { text -> [SubjectAttribute] in
                guard let parsed = SubjectAttribute.parse(text) else { throw CommandFailure(message: "cannot read subject \"\(text)\"") }
                return parsed
            } ?? []
            if !attributes.contains(where: { $0.field == "CN" }) { attributes.insert(SubjectAttribute(field: "CN", value: names[0]), at: 0) }
            let commonName = attributes.first { $0.field == "CN" }!.value
            let serviceList = try parseServices(services)
            let privateKey = try PrivateKey.generate(try parseKeyKind(key))
            let organization = attributes.first { $0.field == "O" }?.value
            let country = attributes.first { $0.field == "C" }?.value
            let csr = try CertificateSigningRequest.make(key: privateKey, commonName: commonName, dnsNames: names,
                                                         organization: organization, country: country)
            let request = try PendingRequestStore(storeDirectory: config.server.certStore).save(
                key: privateKey, csrPEM: csr.pem,
                metadata: PendingRequest.Metadata(friendlyName: friendlyName ?? commonName, services: serviceList, domains: names,
                                                  subject: csr.subject, exportable: exportable, created: Date()))
            if let out { try writeOutput(csr.pem, to: out, secret: false) }
            printError("request \(request.id): key \(request.keyPath) (0600), CSR \(request.csrPath)")
            print(String(decoding: csr.pem, as: UTF8.self), terminator: "")
        }
    }
}
