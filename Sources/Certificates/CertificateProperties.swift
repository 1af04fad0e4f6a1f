import Foundation

/// The properties of DESIGN.md (Exchange's Get-ExchangeCertificate names), as one
/// value: `cert list --format list|json` and `cert show` print it.
public struct CertificateProperties: Codable, Sendable, Equatable {
    public var Thumbprint: String
    public var FriendlyName: String
    public var Subject: String
    public var CertificateDomains: [String]
    public var Services: [String]
    public var HasPrivateKey: Bool
    public var PrivateKeyExportable: Bool
    public var EnhancedKeyUsageList: [String]
    public var KeyUsage: [String]
    public var IsSelfSigned: Bool
    public var Issuer: String
    public var SerialNumber: String
    public var NotBefore: String
    public var NotAfter: String
    public var PublicKeySize: Int
    public var KeyAlgorithm: String
    public var SignatureAlgorithm: String
    public var RootCAType: String
    public var Status: String
    public var StatusReason: String?
    public var Source: String

    /// Dates in ISO 8601 UTC, as `openssl x509 -dates` reads them back.
    public static func format(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: date)
    }

    public init(_ record: CertificateRecord) {
        let leaf = record.leaf
        Thumbprint = record.thumbprint.hex
        FriendlyName = record.certificate.metadata.friendlyName
        Subject = leaf.subject
        CertificateDomains = leaf.certificateDomains
        Services = record.services.map(\.rawValue)
        HasPrivateKey = record.hasPrivateKey
        PrivateKeyExportable = record.hasPrivateKey && record.certificate.metadata.exportable
        EnhancedKeyUsageList = leaf.extendedKeyUsage
        KeyUsage = leaf.keyUsage
        IsSelfSigned = leaf.isSelfSigned
        Issuer = leaf.issuer
        SerialNumber = leaf.serialNumberHex
        NotBefore = Self.format(leaf.notBefore)
        NotAfter = Self.format(leaf.notAfter)
        PublicKeySize = leaf.publicKeySize
        KeyAlgorithm = leaf.publicKeyAlgorithm
        SignatureAlgorithm = leaf.signatureAlgorithm
        RootCAType = record.validation.rootCAType.rawValue
        Status = record.status.rawValue
        StatusReason = record.validation.reason
        switch record.source {
        case .store: Source = record.certificate.certificatePath
        case .configFile(let path): Source = "config: \(path)"
        }
    }

    public init(pending request: PendingRequest) {
        Thumbprint = request.id
        FriendlyName = request.metadata.friendlyName
        Subject = request.metadata.subject
        CertificateDomains = request.metadata.domains
        Services = request.metadata.services.map(\.rawValue)
        HasPrivateKey = true
        PrivateKeyExportable = request.metadata.exportable
        EnhancedKeyUsageList = []
        KeyUsage = []
        IsSelfSigned = false
        Issuer = ""
        SerialNumber = ""
        NotBefore = ""
        NotAfter = ""
        PublicKeySize = request.key.bits
        KeyAlgorithm = request.key.algorithm
        SignatureAlgorithm = ""
        RootCAType = "None"
        Status = CertificateStatus.pendingRequest.rawValue
        StatusReason = "waiting for the CA; import the issued certificate with `mailedge cert import`"
        Source = request.csrPath
    }

    /// Name/value lines for `--format list`, in DESIGN.md's order.
    public var listLines: [(String, String)] {
        let yes = { (b: Bool) in b ? "True" : "False" }
        return [
            ("Thumbprint", Thumbprint), ("FriendlyName", FriendlyName), ("Subject", Subject),
            ("CertificateDomains", CertificateDomains.joined(separator: ", ")),
            ("Services", Services.joined(separator: ", ")),
            ("HasPrivateKey", yes(HasPrivateKey)), ("PrivateKeyExportable", yes(PrivateKeyExportable)),
            ("EnhancedKeyUsageList", EnhancedKeyUsageList.joined(separator: ", ")),
            ("KeyUsage", KeyUsage.joined(separator: ", ")),
            ("IsSelfSigned", yes(IsSelfSigned)), ("Issuer", Issuer), ("SerialNumber", SerialNumber),
            ("NotBefore", NotBefore), ("NotAfter", NotAfter), ("PublicKeySize", "\(PublicKeySize)"),
            ("KeyAlgorithm", KeyAlgorithm), ("SignatureAlgorithm", SignatureAlgorithm),
            ("RootCAType", RootCAType), ("Status", Status), ("StatusReason", StatusReason ?? ""),
            ("Source", Source),
        ]
    }
}
