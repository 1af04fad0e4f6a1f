import ArgumentParser
import Foundation
import Certificates
import Config
import Server
import TLS

struct CertTest: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test",
        abstract: "Which certificate the server would present, and why (the resolver, without a network).")
    @OptionGroup var options: ConfigOptions
    @Option(help: "The SNI name the client sends; omit for a client without SNI.") var name: String?
    @Option(help: "smtp, imap, pop or https (default: the connector's).") var service: String?
    @Option(help: "Connector name (default: the first one serving the service).") var connector: String?
    @Flag(help: "The client offers ECDSA (signature algorithms, P-256, ECDHE-ECDSA suites).") var clientEcdsa = false
    @Flag(help: "The client offers RSA only (the default).") var clientRsaOnly = false
    @Option(help: "json for a machine-readable answer.") var format: OutputFormat = .table

    func run() throws {
        try reportingFailures {
            guard !(clientEcdsa && clientRsaOnly) else { throw CommandFailure(message: "--client-ecdsa and --client-rsa-only exclude each other") }
            let config = try options.load()
            let wanted = try service.map { text -> CertificateService in
                guard let parsed = CertificateService(configName: text) else {
                    throw CommandFailure(message: "unknown service \"\(text)\" (expected smtp, imap, pop, https)")
                }
                return parsed
            }
            let chosenConnector: ConnectorConfig?
            if let connector {
                guard let found = config.connectors.first(where: { $0.name.lowercased() == connector.lowercased() }) else {
                    throw CommandFailure(message: "no connector named \"\(connector)\" (have: \(config.connectors.map(\.name).joined(separator: ", ")))")
                }
                chosenConnector = found
            } else {
                chosenConnector = config.connectors.first { wanted == nil || $0.protocol.certificateService == wanted }
            }
            let serviceToTest = wanted ?? chosenConnector?.protocol.certificateService ?? .smtp
            let inventory = config.loadCertificateInventory()
            let template = CertificateResolver.Request(
                service: serviceToTest, serverName: nil, connectorFQDN: chosenConnector?.fqdn ?? config.server.fqdn,
                pins: chosenConnector?.certificate.map { [$0] } ?? [], eccEnabled: config.tls.eccCertificateSupport,
                defaultNames: [config.server.name, config.server.fqdn])
            guard let selector = CertificateSelector(resolver: CertificateResolver(records: inventory.records), template: template),
                  let (choice, _) = selector.select(serverName: name, clientOffersECDSA: clientEcdsa) else {
                throw CommandFailure(message: "no certificate with a private key is enabled for \(serviceToTest.rawValue): the handshake would fail")
            }
            let certificate = selector.certificates[choice.index]
            struct Answer: Encodable {
                var connector: String?; var service: String; var name: String?; var clientOffersECDSA: Bool
                var thumbprint: String; var subject: String; var keyAlgorithm: String; var certificateDomains: [String]
                var reason: String; var servedExpired: Bool
            }
            let answer = Answer(connector: chosenConnector?.name, service: serviceToTest.rawValue, name: name,
                                clientOffersECDSA: clientEcdsa, thumbprint: certificate.thumbprint.hex,
                                subject: certificate.leaf.subject, keyAlgorithm: certificate.leaf.publicKeyAlgorithm,
                                certificateDomains: certificate.leaf.certificateDomains, reason: choice.reason,
                                servedExpired: choice.servedExpired)
            if format == .json { try writeJSON(answer); return }
            print("Connector    : \(answer.connector ?? "-")")
            print("Service      : \(answer.service)")
            print("Name (SNI)   : \(name ?? "(none: the connector fqdn \(template.connectorFQDN))")")
            print("Client       : \(clientEcdsa ? "offers ECDSA" : "RSA only")")
            print("Thumbprint   : \(answer.thumbprint)")
            print("Subject      : \(answer.subject)")
            print("KeyAlgorithm : \(answer.keyAlgorithm)")
            print("Domains      : \(answer.certificateDomains.joined(separator: ", "))")
            print("Reason       : \(answer.reason)")
            if choice.servedExpired { print("WARNING      : only expired certificates are enabled; this one is served anyway") }
        }
    }
}
