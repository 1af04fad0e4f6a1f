import Foundation
import Config
import Certificates

extension MailEdgeConfig {
    /// Server certificates are validated against the system roots plus
    /// `<cert_store>/trusted`, with CRLs from `<cert_store>/crl`.
    public var certificateTrust: TrustSettings {
        TrustSettings(useSystemRoots: true, trustedDirectory: "\(server.certStore)/trusted",
                      crlDirectory: "\(server.certStore)/crl", requireCRL: false)
    }

    public var certificateFileSources: [CertificateFileSource] {
        certificateFiles.map { file in
            CertificateFileSource(path: file.path, keyPath: file.key, friendlyName: file.friendlyName,
                                  services: file.services.compactMap(CertificateService.init(configName:)))
        }
    }

    /// Reads the store, the `[[certificate]]` files and pending requests (blocking).
    public func loadCertificateInventory(now: Date = Date()) -> CertificateInventory {
        CertificateInventory.load(storeDirectory: server.certStore, files: certificateFileSources,
                                  trust: certificateTrust, now: now)
    }
}

extension CertificateService {
    /// "smtp", "imap", "pop", "https" as written in the config and on the command line.
    public init?(configName: String) {
        switch configName.lowercased() {
        case "smtp": self = .smtp
        case "imap": self = .imap
        case "pop", "pop3": self = .pop
        case "https": self = .https
        case "management": self = .management
        default: return nil
        }
    }
}
