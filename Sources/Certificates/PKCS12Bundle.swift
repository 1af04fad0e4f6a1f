import Foundation
internal import COpenSSL
internal import CShims

/// PKCS#12 (.pfx/.p12) import and export: `mailedge cert import` and `cert export`
/// (Exchange's Import/Export-ExchangeCertificate). Stateless; any thread. The
/// password never appears in an error or a log.
public enum PKCS12Bundle {
    /// Why a bundle could not be read, with a code the CLI can act on (ask for the
    /// password again) and a sentence for the administrator.
    public struct ReadError: Error, Sendable, CustomStringConvertible {
        public enum Code: String, Sendable { case wrongPassword, malformed, empty }
        public var code: Code
        public var reason: String
        public var description: String { reason }
    }

    /// Reads a DER PKCS#12 bundle. The chain comes leaf first (the certificate that
    /// matches the key), then the CA certificates in issuing order where they form
    /// a path, then any others as stored.
    public static func parse(_ data: [UInt8], password: String) throws -> (key: PrivateKey?, chain: [X509Certificate]) {
        OpenSSLError.clear()
        defer { ERR_clear_error() }
        let bundle: OpaquePointer? = data.withUnsafeBufferPointer { buffer in
            var cursor = buffer.baseAddress
            return d2i_PKCS12(nil, &cursor, buffer.count)
        }
        guard let bundle else {
            throw ReadError(code: .malformed, reason: "not a PKCS#12 file: \(OpenSSLError.drain("reading PKCS#12"))")
        }
        defer { PKCS12_free(bundle) }

        // Check the MAC first: that is the only place a wrong password shows as
        // such; PKCS12_parse would only report a decryption failure. Like the
        // openssl CLI, an empty password may also mean "no password" (NULL).
        var effectivePassword: String? = password
        if PKCS12_mac_present(bundle) == 1 {
            if PKCS12_verify_mac(bundle, password, -1) != 1 {
                guard password.isEmpty, PKCS12_verify_mac(bundle, nil, 0) == 1 else {
                    throw ReadError(code: .wrongPassword, reason: "the password of the PKCS#12 file is wrong")
                }
                effectivePassword = nil
            }
        }

        var keyPointer: OpaquePointer?
        var certificatePointer: OpaquePointer?
        var authorities: OpaquePointer?
        let parsed = withOptionalCString(effectivePassword) { PKCS12_parse(bundle, $0, &keyPointer, &certificatePointer, &authorities) }
        // Adopt whatever OpenSSL handed over before deciding anything, so nothing leaks.
        let key = keyPointer.map { PrivateKey(owning: $0) }
        var certificates = certificatePointer.map { [X509Certificate(owning: $0)] } ?? []
        if let authorities {
            for index in 0..<OPENSSL_sk_num(authorities) {
                if let x509 = OPENSSL_sk_value(authorities, index) {
                    certificates.append(X509Certificate(owning: OpaquePointer(x509)))
                }
            }
            OPENSSL_sk_free(authorities)
        }
        guard parsed == 1 else {
            throw ReadError(code: PKCS12_mac_present(bundle) == 1 ? .malformed : .wrongPassword,
                            reason: "cannot read the PKCS#12 file (wrong password or damaged): \(OpenSSLError.drain("PKCS12_parse"))")
        }
        guard !certificates.isEmpty else {
            throw ReadError(code: .empty, reason: "the PKCS#12 file holds no certificate")
        }
        return (key, ordered(certificates, key: key))
    }

    /// Writes a DER PKCS#12 bundle: `chain[0]` with `key`, the rest as CA
    /// certificates. OpenSSL 3's defaults: AES-256-CBC with PBKDF2 for key and
    /// certificates, SHA-256 MAC (Windows Server 2019 and later read it).
    public static func make(key: PrivateKey, chain: [X509Certificate], password: String, friendlyName: String) throws -> [UInt8] {
        guard let leaf = chain.first else {
            throw OpenSSLError(operation: "writing PKCS#12", reasons: ["no certificate"])
        }
        guard leaf.matches(key) else {
            throw OpenSSLError(operation: "writing PKCS#12", reasons: ["the private key does not belong to \(leaf.subject)"])
        }
        OpenSSLError.clear()
        guard let authorities = OPENSSL_sk_new_null() else { throw OpenSSLError.drain("allocating PKCS#12 chain") }
        defer { OPENSSL_sk_free(authorities) }   // borrows the X509 pointers
        return try withExtendedLifetime(chain) {
            for certificate in chain.dropFirst() {
                try certificate.withUnsafeX509Pointer { x509 in
                    if OPENSSL_sk_push(authorities, UnsafeRawPointer(x509)) <= 0 {
                        throw OpenSSLError.drain("allocating PKCS#12 chain")
                    }
                }
            }
            let bundle = key.withUnsafeEVPPKEYPointer { pkey in
                leaf.withUnsafeX509Pointer { x509 in
                    // 0 = OpenSSL's defaults for both ciphers and the iteration count;
                    // the MAC iterations as the openssl CLI sets them (PKCS12_DEFAULT_ITER).
                    PKCS12_create(password, friendlyName, pkey, x509, authorities, 0, 0, 0, 2048, 0)
                }
            }
            guard let bundle else { throw OpenSSLError.drain("creating PKCS#12") }
            defer { PKCS12_free(bundle) }
            let length = i2d_PKCS12(bundle, nil)
            guard length > 0 else { throw OpenSSLError.drain("encoding PKCS#12") }
            var bytes = [UInt8](repeating: 0, count: Int(length))
            let written = bytes.withUnsafeMutableBufferPointer { buffer -> Int32 in
                var cursor = buffer.baseAddress
                return i2d_PKCS12(bundle, &cursor)
            }
            guard written == length else { throw OpenSSLError.drain("encoding PKCS#12") }
            return bytes
        }
    }

    /// Leaf first, then its issuers, then the rest as stored.
    private static func ordered(_ certificates: [X509Certificate], key: PrivateKey?) -> [X509Certificate] {
        let leaf: X509Certificate
        if let key, let match = certificates.first(where: { $0.matches(key) }) {
            leaf = match
        } else {
            leaf = CertificateChainOrder.arrange(certificates, key: nil).chain.first ?? certificates[0]
        }
        let path = CertificateChainOrder.path(from: leaf, in: certificates)
        return path + certificates.filter { certificate in !path.contains { $0 === certificate } }
    }

    private static func withOptionalCString<R>(_ string: String?, _ body: (UnsafePointer<CChar>?) -> R) -> R {
        guard let string else { return body(nil) }
        return string.withCString { body($0) }
    }
}
