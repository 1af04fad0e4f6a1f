internal import COpenSSL
import Certificates

/// A certificate ready to present: its chain as an OpenSSL stack, built once, so
/// the ClientHello callback only hands pointers to `SSL_use_cert_and_key`. Owns
/// the stack (not the certificates, which `stored` keeps alive). Immutable.
final class PreparedCertificate: @unchecked Sendable {
    let stored: StoredCertificate
    private let chain: OpaquePointer?

    init?(_ stored: StoredCertificate) {
        guard stored.key != nil else { return nil }
        self.stored = stored
        if stored.chain.count > 1 {
            guard let stack = OPENSSL_sk_new_null() else { return nil }
            for certificate in stored.chain.dropFirst() {
                certificate.withUnsafeX509Pointer { _ = OPENSSL_sk_push(stack, UnsafeRawPointer($0)) }
            }
            chain = stack
        } else {
            chain = nil
        }
    }

    deinit { if let chain { OPENSSL_sk_free(chain) } }

    /// Sets certificate, key and chain on one handshake (OpenSSL takes its own references).
    func use(on ssl: OpaquePointer) -> Bool {
        guard let key = stored.key else { return false }
        return stored.leaf.withUnsafeX509Pointer { leaf in
            key.withUnsafeEVPPKEYPointer { pkey in
                SSL_use_cert_and_key(ssl, leaf, pkey, chain, 1) == 1
            }
        }
    }
}
