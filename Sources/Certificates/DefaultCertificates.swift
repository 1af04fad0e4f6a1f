import Foundation

/// The three certificates MailEdge creates on first start when the store is empty
/// (DESIGN.md's table; values follow Exchange's defaults).
public enum DefaultCertificate: String, CaseIterable, Sendable {
    case mailEdge = "MailEdge"
    case authCertificate = "MailEdge Server Auth Certificate"
    case management = "Management"

    public var friendlyName: String { rawValue }

    public func profile(serverName: String, serverFQDN: String) -> CertificateProfile {
        switch self {
        case .mailEdge:
            var names = [serverName]
            if serverFQDN.lowercased() != serverName.lowercased() { names.append(serverFQDN) }
            return CertificateProfile(commonName: serverName, dnsNames: names, validity: .years(5),
                                      keyUsage: ["digitalSignature", "keyEncipherment"],
                                      extendedKeyUsage: ["serverAuth"], basicConstraintsCA: false)
        case .authCertificate:
            return CertificateProfile(commonName: "MailEdge Server Auth Certificate", dnsNames: [],
                                      validity: .years(5),
                                      keyUsage: ["digitalSignature", "keyEncipherment"],
                                      extendedKeyUsage: ["serverAuth"], basicConstraintsCA: false)
        case .management:
            let name = "WMSvc-\(serverName)"
            return CertificateProfile(commonName: name, dnsNames: [name], validity: .years(10),
                                      keyUsage: ["digitalSignature", "keyEncipherment", "dataEncipherment"],
                                      extendedKeyUsage: ["serverAuth"], basicConstraintsCA: nil)
        }
    }

    public var services: [CertificateService] {
        switch self {
        case .mailEdge: return [.imap, .pop, .smtp, .https]
        case .authCertificate: return [.smtp]
        case .management: return [.management]
        }
    }

    public var exportable: Bool { self != .mailEdge }
}
