import Foundation
internal import COpenSSL
internal import CShims

/// Owns one OpenSSL `X509`. Certificates are never mutated after parsing or
/// signing, and OpenSSL allows concurrent reads, hence `@unchecked Sendable`.
public final class X509Certificate: @unchecked Sendable {
    private let x509: OpaquePointer
    /// SHA-256 of the DER encoding, lower-case hex (DESIGN.md's thumbprint);
    /// computed once, since handshakes and logs ask for it all the time.
    public let thumbprint: Thumbprint

    /// Takes ownership of `x509`.
    package init(owning x509: OpaquePointer) {
        self.x509 = x509
        thumbprint = Self.digest(x509)
    }

    deinit { X509_free(x509) }

    /// Every certificate in a PEM bundle, in file order (leaf first by convention).
    public static func loadAll(pem: [UInt8]) throws -> [X509Certificate] {
        OpenSSLError.clear()
        var result: [X509Certificate] = []
        try withMemoryBIO(pem) { bio in
            while let cert = PEM_read_bio_X509(bio, nil, nil, nil) {
                result.append(X509Certificate(owning: cert))
            }
            // Reading stops with a "no start line" error at the end of input; any
            // other error means a damaged PEM block.
            let last = ERR_peek_last_error()
            if last != 0 && ERR_GET_REASON(last) != PEM_R_NO_START_LINE {
                throw OpenSSLError.drain("reading PEM certificate")
            }
            ERR_clear_error()
        }
        if result.isEmpty { throw OpenSSLError(operation: "reading PEM certificate", reasons: ["no certificate found"]) }
        return result
    }

    public func pem() throws -> [UInt8] {
        OpenSSLError.clear()
        let bio = BIO_new(BIO_s_mem())!
        defer { BIO_free(bio) }
        guard PEM_write_bio_X509(bio, x509) == 1 else { throw OpenSSLError.drain("writing PEM certificate") }
        return drainMemoryBIO(bio)
    }

    private static func digest(_ x509: OpaquePointer) -> Thumbprint {
        var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        X509_digest(x509, EVP_sha256(), &digest, &length)
        return Thumbprint(bytes: Array(digest.prefix(Int(length))))
    }

    /// One-line RFC 2253-style subject, e.g. "CN=mail01".
    public var subject: String { Self.nameString(X509_get_subject_name(x509)) }
    public var issuer: String { Self.nameString(X509_get_issuer_name(x509)) }

    public var commonName: String? {
        let name = X509_get_subject_name(x509)
        let index = X509_NAME_get_index_by_NID(name, NID_commonName, -1)
        guard index >= 0, let entry = X509_NAME_get_entry(name, index),
              let data = X509_NAME_ENTRY_get_data(entry) else { return nil }
        return Self.asn1String(UnsafePointer(data))
    }

    /// SAN DNS names in certificate order.
    public var dnsNames: [String] {
        Self.dnsNames(ofSubjectAltName: X509_get_ext_d2i(x509, NID_subject_alt_name, nil, nil))
    }

    /// DNS entries of a decoded subjectAltName (a GENERAL_NAMES stack), which this
    /// function frees.
    static func dnsNames(ofSubjectAltName raw: UnsafeMutableRawPointer?) -> [String] {
        guard let raw else { return [] }
        let names = OpaquePointer(raw)
        defer { GENERAL_NAMES_free(names) }
        var result: [String] = []
        for i in 0..<OPENSSL_sk_num(names) {
            guard let entry = OPENSSL_sk_value(names, i) else { continue }
            let general = entry.assumingMemoryBound(to: GENERAL_NAME.self)
            if general.pointee.type == GEN_DNS, let ia5 = general.pointee.d.dNSName {
                result.append(asn1String(UnsafePointer(ia5)))
            }
        }
        return result
    }

    /// CertificateDomains: SAN DNS names plus the CN, without duplicates.
    public var certificateDomains: [String] {
        var names = dnsNames
        if let cn = commonName, !names.contains(where: { $0.caseInsensitiveCompare(cn) == .orderedSame }) {
            names.append(cn)
        }
        return names
    }

    public var notBefore: Date { Self.date(X509_get0_notBefore(x509)) }
    public var notAfter: Date { Self.date(X509_get0_notAfter(x509)) }

    /// Issuer equals subject and the certificate's own key verifies its signature
    /// (X509_check_issued would also demand keyCertSign, which end-entity
    /// self-signed certificates such as Exchange's do not carry).
    /// SHA-256 of the DER SubjectPublicKeyInfo (see `PrivateKey.publicKeyFingerprint`).
    public var publicKeyFingerprint: String {
        guard let key = X509_get0_pubkey(x509) else { return "" }
        return publicKeyDigest(key)
    }

    public var isSelfSigned: Bool {
        guard X509_NAME_cmp(X509_get_subject_name(x509), X509_get_issuer_name(x509)) == 0,
              let key = X509_get0_pubkey(x509) else { return false }
        OpenSSLError.clear()
        defer { ERR_clear_error() }
        return X509_verify(x509, key) == 1
    }

    public var signatureAlgorithm: String {
        String(cString: OBJ_nid2ln(X509_get_signature_nid(x509)))
    }

    /// True when `key` is the private half of this certificate's public key.
    public func matches(_ key: PrivateKey) -> Bool {
        OpenSSLError.clear()
        let ok = key.withUnsafeEVPPKEYPointer { X509_check_private_key(x509, $0) } == 1
        ERR_clear_error()
        return ok
    }

    package func withUnsafeX509Pointer<R>(_ body: (OpaquePointer) throws -> R) rethrows -> R {
        try body(x509)
    }

    static func nameString(_ name: OpaquePointer?) -> String {
        guard let name else { return "" }
        let bio = BIO_new(BIO_s_mem())!
        defer { BIO_free(bio) }
        X509_NAME_print_ex(bio, name, 0, cshim_XN_FLAG_RFC2253)
        return String(decoding: drainMemoryBIO(bio), as: UTF8.self)
    }

    static func asn1String(_ string: UnsafePointer<ASN1_STRING>) -> String {
        guard let data = ASN1_STRING_get0_data(string) else { return "" }
        let length = Int(ASN1_STRING_length(string))
        return String(decoding: UnsafeBufferPointer(start: data, count: length), as: UTF8.self)
    }

    static func date(_ time: UnsafePointer<ASN1_TIME>?) -> Date {
        var tm = tm()
        guard let time, ASN1_TIME_to_tm(time, &tm) == 1 else { return .distantPast }
        return Date(timeIntervalSince1970: TimeInterval(timegm(&tm)))
    }
}

/// A certificate's identity in the store: SHA-256 of its DER form, in hex.
public struct Thumbprint: Sendable, Hashable, CustomStringConvertible, Comparable {
    public let hex: String
    public init(bytes: [UInt8]) {
        let digits: [UInt8] = Array("0123456789abcdef".utf8)
        var text = [UInt8]()
        text.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        hex = String(decoding: text, as: UTF8.self)
    }
    public init?(hex: String) {
        let lowered = hex.lowercased()
        guard lowered.count == 64, lowered.allSatisfy({ $0.isHexDigit }) else { return nil }
        self.hex = lowered
    }
    public var description: String { hex }
    public static func < (a: Thumbprint, b: Thumbprint) -> Bool { a.hex < b.hex }
}
