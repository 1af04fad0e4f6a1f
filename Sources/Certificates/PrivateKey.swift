internal import COpenSSL
internal import CShims

/// Owns one OpenSSL `EVP_PKEY`. Immutable after creation; OpenSSL keys are safe to
/// share read-only across threads, hence `@unchecked Sendable`.
public final class PrivateKey: @unchecked Sendable {
    public enum Kind: Sendable, Equatable {
        case rsa(bits: Int)
        case ecdsa(curve: String)
    }

    private let pkey: OpaquePointer

    /// Takes ownership of `pkey`.
    init(owning pkey: OpaquePointer) { self.pkey = pkey }

    deinit { EVP_PKEY_free(pkey) }

    /// Generates a new key with OpenSSL.
    public static func generate(_ kind: Kind) throws -> PrivateKey {
        OpenSSLError.clear()
        let made: OpaquePointer?
        switch kind {
        case .rsa(let bits): made = cshim_EVP_RSA_gen(UInt32(bits))
        case .ecdsa(let curve): made = curve.withCString { cshim_EVP_EC_gen($0) }
        }
        guard let made else { throw OpenSSLError.drain("generating \(kind) key") }
        return PrivateKey(owning: made)
    }

    /// Parses a PEM private key (PKCS#8 or traditional).
    public static func load(pem: [UInt8]) throws -> PrivateKey {
        OpenSSLError.clear()
        let key = withMemoryBIO(pem) { PEM_read_bio_PrivateKey($0, nil, nil, nil) }
        guard let key else { throw OpenSSLError.drain("reading PEM private key") }
        return PrivateKey(owning: key)
    }

    /// PKCS#8 PEM, unencrypted: callers write it with mode 0600.
    public func pem() throws -> [UInt8] {
        OpenSSLError.clear()
        let bio = BIO_new(BIO_s_mem())!
        defer { BIO_free(bio) }
        guard PEM_write_bio_PrivateKey(bio, pkey, nil, nil, 0, nil, nil) == 1 else {
            throw OpenSSLError.drain("writing PEM private key")
        }
        return drainMemoryBIO(bio)
    }

    public var bits: Int { Int(EVP_PKEY_get_bits(pkey)) }

    /// SHA-256 of the DER SubjectPublicKeyInfo: pairs a pending request's key with
    /// the certificate a CA issues for it.
    public var publicKeyFingerprint: String { publicKeyDigest(pkey) }

    /// "RSA" or "ECC", the KeyAlgorithm property of DESIGN.md.
    public var algorithm: String { EVP_PKEY_get_base_id(pkey) == EVP_PKEY_RSA ? "RSA" : "ECC" }

    package func withUnsafeEVPPKEYPointer<R>(_ body: (OpaquePointer) throws -> R) rethrows -> R {
        try body(pkey)
    }
}

/// SHA-256 hex of a key's DER SubjectPublicKeyInfo.
func publicKeyDigest(_ pkey: OpaquePointer) -> String {
    let length = i2d_PUBKEY(pkey, nil)
    guard length > 0 else { return "" }
    var der = [UInt8](repeating: 0, count: Int(length))
    der.withUnsafeMutableBufferPointer { buffer in
        var cursor: UnsafeMutablePointer<UInt8>? = buffer.baseAddress
        _ = i2d_PUBKEY(pkey, &cursor)
    }
    var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
    var size: UInt32 = 0
    EVP_Digest(der, der.count, &digest, &size, EVP_sha256(), nil)
    return digest.prefix(Int(size)).map { String(format: "%02x", $0) }.joined()
}
