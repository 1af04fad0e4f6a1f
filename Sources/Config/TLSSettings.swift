/// `[tls]`: the server-wide TLS policy knobs. Insecure choices (TLS 1.0/1.1, DES, RC4,
/// NULL, EXPORT, anonymous suites...) are refused when the config loads, so the TLS
/// module can trust these values. Part of the immutable config snapshot.
public struct TLSSettings: Sendable, Equatable {
    /// Sorted, without duplicates; never empty.
    public var protocols: [TLSProtocolVersion]
    /// Exchange's EnableEccCertificateSupport: with it off no ECC certificate is presented.
    public var eccCertificateSupport: Bool
    /// TLS 1.2 cipher string override (OpenSSL syntax); nil = built-in policy.
    public var ciphers: String?
    /// TLS 1.3 suites override (OpenSSL syntax); nil = built-in policy.
    public var ciphersuites: String?
    /// Path of a ticket key file shared by a farm; "" = keys generated in memory.
    public var sessionTicketKeys: String

    public init(
        protocols: [TLSProtocolVersion] = [.tls12],
        eccCertificateSupport: Bool = false,
        ciphers: String? = nil,
        ciphersuites: String? = nil,
        sessionTicketKeys: String = ""
    ) {
        self.protocols = protocols
        self.eccCertificateSupport = eccCertificateSupport
        self.ciphers = ciphers
        self.ciphersuites = ciphersuites
        self.sessionTicketKeys = sessionTicketKeys
    }
}
