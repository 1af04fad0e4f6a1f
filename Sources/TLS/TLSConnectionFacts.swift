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

    /// The same facts as C strings, valid while the SSL lives: for the close log
    /// line, which copies them as bytes without making a String of each.
    package static func withCStrings<R>(
        of ssl: OpaquePointer,
        _ body: (_ version: UnsafePointer<CChar>, _ cipher: UnsafePointer<CChar>, _ serverName: UnsafePointer<CChar>?, _ resumed: Bool) -> R
    ) -> R {
        body(SSL_get_version(ssl), SSL_CIPHER_get_name(SSL_get_current_cipher(ssl)),
             SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name), SSL_session_reused(ssl) == 1)
    }
}
