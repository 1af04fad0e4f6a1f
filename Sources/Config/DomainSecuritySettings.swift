/// `[domain_security]`: partner domains verified by mutual TLS on connectors with
/// `domain_secure = true` (Exchange's TLSReceiveDomainSecureList). Part of the
/// immutable config snapshot.
public struct DomainSecuritySettings: Sendable, Equatable {
    /// Lowercased partner domains, without duplicates.
    public var receiveDomains: [String]
    /// Folder of CA certificates accepted for partner certificates.
    public var trustedRoots: String
    /// Folder of CRLs checked for partner certificates.
    public var crlDir: String
    /// Refuse a partner certificate whose issuer has no CRL in `crlDir`.
    public var requireCRL: Bool

    public init(
        receiveDomains: [String] = [],
        trustedRoots: String = "certs/trusted",
        crlDir: String = "certs/crl",
        requireCRL: Bool = false
    ) {
        self.receiveDomains = receiveDomains
        self.trustedRoots = trustedRoots
        self.crlDir = crlDir
        self.requireCRL = requireCRL
    }
}
