internal import COpenSSL

/// A cipher and an HMAC context as OpenSSL hands them to the ticket callback;
/// for tests of `TicketKeyRing` outside a handshake. Owns both.
final class EVPContexts {
    let cipher: OpaquePointer
    let mac: OpaquePointer
    private let algorithm: OpaquePointer

    init() {
        cipher = EVP_CIPHER_CTX_new()!
        algorithm = EVP_MAC_fetch(nil, "HMAC", nil)!
        mac = EVP_MAC_CTX_new(algorithm)!
    }

    deinit {
        EVP_CIPHER_CTX_free(cipher)
        EVP_MAC_CTX_free(mac)
        EVP_MAC_free(algorithm)
    }
}
