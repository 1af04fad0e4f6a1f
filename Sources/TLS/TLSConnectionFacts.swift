internal import COpenSSL

/// What a finished handshake negotiated, read from the `SSL`.
public struct TLSConnectionFacts: Sendable, Equatable {
    public var version: String       // "TLSv1.2"
    public var cipher: String        // OpenSSL name, e.g. ECDHE-RSA-AES256-GCM-SHA384
    public var serverName: String?   // SNI sent by the client
    public var resumed: Bool

    package static func read(from ssl: OpaquePointer) -> TLSConnectionFacts {
        withCStrings(of: ssl) { version, cipher, serverName, resumed in
            TLSConnectionFacts(version: String(cString: version), cipher: String(cString: cipher),
                               serverName: serverName.map { String(cString: $0) }, resumed: resumed)
        }
    }

    /// The same facts as C strings, valid while the SSL lives: for the close log
    /// line, which copies them as bytes without making a String of each.
    package static func withCStrings<R>(
        of ssl: OpaquePointer,
        _ body: (_ version: UnsafePointer<CChar>, _ cipher: UnsafePointer<CChar>, _ serverName: UnsafePointer<CChar>?, _ resumed: Bool) -> R
    ) -> R {
        let resumed = SSL_session_reused(ssl) == 1
        let serverName = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name)
        guard let cipher = SSL_get_current_cipher(ssl) else {
            return "unknown".withCString { body(SSL_get_version(ssl), $0, serverName, resumed) }
        }
        return body(SSL_get_version(ssl), SSL_CIPHER_get_name(cipher), serverName, resumed)
    }
}
