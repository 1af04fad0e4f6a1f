/// The TLS policy of DESIGN.md as plain values: which versions, which TLS 1.2
/// ciphers and TLS 1.3 suites, which groups. Built from the config; turned into an
/// `SSL_CTX` by `ServerTLSContext`.
public struct TLSPolicy: Sendable, Equatable {
    public enum Version: Sendable, Equatable, Comparable { case tls12, tls13 }

    public var minimumVersion: Version
    public var maximumVersion: Version
    /// TLS 1.2 cipher string; the forbidden families are always removed on top.
    public var ciphers: String
    /// TLS 1.3 suites.
    public var ciphersuites: String
    public var groups: String
    public var sessionTickets: Bool

    /// ECDHE first (ECDSA then RSA), then DHE for the clients without EC; AEAD only.
    public static let defaultCiphers = [
        "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384",
        "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256",
        "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305",
        "DHE-RSA-AES256-GCM-SHA384", "DHE-RSA-AES128-GCM-SHA256",
    ].joined(separator: ":")
    public static let defaultCiphersuites = "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256"
    public static let defaultGroups = "X25519:P-256:P-384"

    /// Appended to every cipher string: these can never be enabled, whatever the config says.
    public static let forbiddenSuffix = ":!aNULL:!eNULL:!NULL:!EXPORT:!LOW:!DES:!3DES:!RC2:!RC4:!MD5:!IDEA:!SEED:!PSK:!SRP:!ADH:!AECDH"

    public init(minimumVersion: Version = .tls12, maximumVersion: Version = .tls12,
                ciphers: String? = nil, ciphersuites: String? = nil,
                groups: String = TLSPolicy.defaultGroups, sessionTickets: Bool = true) {
        self.minimumVersion = minimumVersion
        self.maximumVersion = maximumVersion
        self.ciphers = ciphers ?? Self.defaultCiphers
        self.ciphersuites = ciphersuites ?? Self.defaultCiphersuites
        self.groups = groups
        self.sessionTickets = sessionTickets
    }
}
