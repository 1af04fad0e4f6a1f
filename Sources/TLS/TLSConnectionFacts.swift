internal import COpenSSL

/// What a finished handshake negotiated, read from the `SSL`.
public struct TLSConnectionFacts: Sendable, Equatable {
    public var version: String       // "TLSv1.2"
    public var cipher: String        // OpenSSL name, e.g. ECDHE-RSA-AES256-GCM-SHA384
    public var serverName: String?   // SNI sent by the client
    public var resumed: Bool

    package static func read(from ssl: OpaquePointer) -> TLSConnectionFacts {
        let version = String(cString: SSL_get_version(ssl))
        let cipher = SSL_get_current_cipher(ssl).map { String(cString: SSL_CIPHER_get_name($0)) } ?? "unknown"
        let sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name).map { String(cString: $0) }
        return TLSConnectionFacts(version: version, cipher: cipher, serverName: sni, resumed: SSL_session_reused(ssl) == 1)
    }
}
