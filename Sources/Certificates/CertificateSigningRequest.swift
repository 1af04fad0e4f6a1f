internal import COpenSSL
internal import CShims

/// A PKCS#10 certificate request for a commercial or internal CA (`mailedge cert
/// request`, Exchange's New-ExchangeCertificate -GenerateRequest). A value: the PEM
/// plus what the administrator checks before sending it; the key stays with the
/// pending request. Any thread.
public struct CertificateSigningRequest: Sendable {
    public let pem: [UInt8]
    /// RFC 2253 subject, e.g. "CN=mail.contoso.com,O=Contoso,C=US".
    public let subject: String
    /// The subjectAltName DNS names, in request order.
    public let dnsNames: [String]

    /// Builds and signs (SHA-256) a request for `key` with subject CN (+ O, C) and a
    /// subjectAltName carrying every name in `dnsNames`.
    public static func make(key: PrivateKey, commonName: String, dnsNames: [String],
                            organization: String? = nil, country: String? = nil) throws -> CertificateSigningRequest {
        OpenSSLError.clear()
        guard let request = X509_REQ_new() else { throw OpenSSLError.drain("X509_REQ_new") }
        defer { X509_REQ_free(request) }
        func check(_ ok: Bool, _ what: String) throws { if !ok { throw OpenSSLError.drain(what) } }

        try check(X509_REQ_set_version(request, 0) == 1, "setting request version")
        let name = X509_REQ_get_subject_name(request)
        var entries: [(String, String)] = []
        if let country { entries.append(("C", country)) }
        if let organization { entries.append(("O", organization)) }
        entries.append(("CN", commonName))
        for (field, value) in entries {
            try check(X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8, value, -1, -1, 0) == 1,
                      "setting subject \(field)=\(value)")
        }
        try key.withUnsafeEVPPKEYPointer { pkey in
            try check(X509_REQ_set_pubkey(request, pkey) == 1, "setting request public key")
        }
        if !dnsNames.isEmpty {
            let extensionValue = try subjectAltName(dnsNames)
            defer { X509_EXTENSION_free(extensionValue) }
            guard let extensions = OPENSSL_sk_new_null() else { throw OpenSSLError.drain("allocating extensions") }
            defer { OPENSSL_sk_free(extensions) }   // borrows the extension
            try check(OPENSSL_sk_push(extensions, UnsafeRawPointer(extensionValue)) > 0, "allocating extensions")
            try check(X509_REQ_add_extensions(request, extensions) == 1, "adding subjectAltName to the request")
        }
        try key.withUnsafeEVPPKEYPointer { pkey in
            try check(X509_REQ_sign(request, pkey, EVP_sha256()) > 0, "signing request")
        }
        let bio = BIO_new(BIO_s_mem())!
        defer { BIO_free(bio) }
        try check(PEM_write_bio_X509_REQ(bio, request) == 1, "writing PEM request")
        return CertificateSigningRequest(pem: drainMemoryBIO(bio), subject: X509Certificate.nameString(name),
                                         dnsNames: names(of: request))
    }

    /// Reads a PEM request and checks its self-signature.
    public static func parse(pem: [UInt8]) throws -> CertificateSigningRequest {
        try withRequest(pem) { request in
            guard let key = X509_REQ_get0_pubkey(request), X509_REQ_verify(request, key) == 1 else {
                throw OpenSSLError.drain("checking the request's signature")
            }
            return CertificateSigningRequest(pem: pem, subject: X509Certificate.nameString(X509_REQ_get_subject_name(request)),
                                             dnsNames: names(of: request))
        }
    }

    /// True when `key` is the private half of the request's public key (the pending
    /// key that belongs to this request).
    public func publicKeyMatches(_ key: PrivateKey) -> Bool {
        defer { ERR_clear_error() }
        return (try? Self.withRequest(pem) { request in
            guard let publicKey = X509_REQ_get0_pubkey(request) else { return false }
            return key.withUnsafeEVPPKEYPointer { EVP_PKEY_eq(publicKey, $0) } == 1
        }) ?? false
    }

    private static func withRequest<R>(_ pem: [UInt8], _ body: (OpaquePointer) throws -> R) throws -> R {
        OpenSSLError.clear()
        guard let request = withMemoryBIO(pem, { PEM_read_bio_X509_REQ($0, nil, nil, nil) }) else {
            throw OpenSSLError.drain("reading PEM certificate request")
        }
        defer { X509_REQ_free(request) }
        return try body(request)
    }

    /// A subjectAltName extension built with OpenSSL's GENERAL_NAME API rather than
    /// its config syntax, so a name can never smuggle in a second entry.
    private static func subjectAltName(_ dnsNames: [String]) throws -> OpaquePointer {
        guard let names = GENERAL_NAMES_new() else { throw OpenSSLError.drain("allocating subjectAltName") }
        defer { GENERAL_NAMES_free(names) }
        for dnsName in dnsNames {
            guard !dnsName.isEmpty, dnsName.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f && $0 != UInt8(ascii: ",") }) else {
                throw OpenSSLError(operation: "building subjectAltName",
                                   reasons: ["\"\(dnsName)\" is not a DNS name (use the xn-- form for international names)"])
            }
            guard let general = GENERAL_NAME_new(), let ia5 = ASN1_IA5STRING_new() else {
                throw OpenSSLError.drain("allocating subjectAltName")
            }
            guard ASN1_STRING_set(ia5, dnsName, Int32(dnsName.utf8.count)) == 1 else {
                ASN1_IA5STRING_free(ia5); GENERAL_NAME_free(general)
                throw OpenSSLError.drain("setting DNS name \(dnsName)")
            }
            GENERAL_NAME_set0_value(general, GEN_DNS, UnsafeMutableRawPointer(ia5))
            guard OPENSSL_sk_push(names, UnsafeRawPointer(general)) > 0 else {
                GENERAL_NAME_free(general)
                throw OpenSSLError.drain("allocating subjectAltName")
            }
        }
        guard let raw = X509V3_EXT_i2d(NID_subject_alt_name, 0, UnsafeMutableRawPointer(names)) else {
            throw OpenSSLError.drain("encoding subjectAltName")
        }
        return raw
    }

    /// SAN DNS names of a request, in order.
    private static func names(of request: OpaquePointer) -> [String] {
        guard let extensions = X509_REQ_get_extensions(request) else { return [] }
        defer { OPENSSL_sk_pop_free(extensions) { X509_EXTENSION_free(OpaquePointer($0)) } }
        return X509Certificate.dnsNames(ofSubjectAltName: X509V3_get_d2i(extensions, NID_subject_alt_name, nil, nil))
    }
}
