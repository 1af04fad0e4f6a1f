import Foundation
internal import COpenSSL
internal import CShims

/// What a self-signed certificate should carry. The X.509 work is OpenSSL's
/// (`X509V3_EXT_conf_nid` with its own extension syntax); this is only the recipe.
public struct CertificateProfile: Sendable, Equatable {
    public var commonName: String
    /// Further subject attributes after CN, in order: ("O", "Contoso"), ("C", "US").
    public var additionalSubject: [SubjectAttribute] = []
    public var dnsNames: [String]
    public var validity: Validity
    public var keyUsage: [String]            // OpenSSL names: digitalSignature, keyEncipherment, ...
    public var extendedKeyUsage: [String]    // serverAuth, clientAuth
    /// nil: no basicConstraints extension; false: critical CA:FALSE (end entity).
    public var basicConstraintsCA: Bool?

    /// How long the certificate lives from its NotBefore.
    public enum Validity: Sendable, Equatable {
        case days(Int)
        case years(Int)   // calendar years, as Exchange counts them

        func notAfter(from start: Date) -> Date {
            switch self {
            case .days(let n): return start.addingTimeInterval(TimeInterval(n) * 86_400)
            case .years(let n):
                var calendar = Calendar(identifier: .gregorian)
                calendar.timeZone = TimeZone(identifier: "UTC")!
                return calendar.date(byAdding: .year, value: n, to: start)!
            }
        }
    }

    public init(commonName: String, dnsNames: [String], validity: Validity, keyUsage: [String],
                extendedKeyUsage: [String], basicConstraintsCA: Bool?) {
        self.commonName = commonName
        self.dnsNames = dnsNames
        self.validity = validity
        self.keyUsage = keyUsage
        self.extendedKeyUsage = extendedKeyUsage
        self.basicConstraintsCA = basicConstraintsCA
    }

    /// Signs a new certificate for `key` with itself, SHA-256.
    public func selfSign(key: PrivateKey, now: Date = Date()) throws -> X509Certificate {
        try sign(key: key, issuer: nil, now: now)
    }

    /// Signs a certificate for `key` with `issuer`'s key (an internal CA, tests),
    /// or with itself when `issuer` is nil.
    public func sign(key: PrivateKey, issuer: (certificate: X509Certificate, key: PrivateKey)?, now: Date = Date()) throws -> X509Certificate {
        OpenSSLError.clear()
        guard let x509 = X509_new() else { throw OpenSSLError.drain("X509_new") }
        // Owns x509 while it is being filled in (frees it on every error path).
        let unfinished = X509Certificate(owning: x509)
        func check(_ ok: Bool, _ what: String) throws { if !ok { throw OpenSSLError.drain(what) } }

        try check(X509_set_version(x509, 2) == 1, "setting version")
        // 159-bit random positive serial, as RFC 5280 asks for unpredictable serials.
        let serial = BN_new()!
        defer { BN_free(serial) }
        try check(BN_rand(serial, 159, -1, 0) == 1, "generating serial")
        try check(BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(x509)) != nil, "setting serial")

        let begin = time_t(now.timeIntervalSince1970)
        let end = time_t(validity.notAfter(from: now).timeIntervalSince1970)
        try check(ASN1_TIME_set(X509_getm_notBefore(x509), begin) != nil, "setting notBefore")
        try check(ASN1_TIME_set(X509_getm_notAfter(x509), end) != nil, "setting notAfter")

        let name = X509_get_subject_name(x509)
        try check(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, commonName, -1, -1, 0) == 1,
                  "setting subject CN=\(commonName)")
        for attribute in additionalSubject {
            try check(X509_NAME_add_entry_by_txt(name, attribute.field, MBSTRING_UTF8, attribute.value, -1, -1, 0) == 1,
                      "setting subject \(attribute.field)=\(attribute.value)")
        }
        if let issuer {
            try issuer.certificate.withUnsafeX509Pointer { issuerX509 in
                try check(X509_set_issuer_name(x509, X509_get_subject_name(issuerX509)) == 1, "setting issuer")
            }
        } else {
            try check(X509_set_issuer_name(x509, name) == 1, "setting issuer")
        }
        try key.withUnsafeEVPPKEYPointer { pkey in
            try check(X509_set_pubkey(x509, pkey) == 1, "setting public key")
        }

        var context = X509V3_CTX()
        cshim_X509V3_set_ctx_nodb(&context)
        // `issuer` is a parameter, alive until the function returns (and held by the
        // withExtendedLifetime below), so its pointer may outlive the closure here.
        let issuerPointer = issuer?.certificate.withUnsafeX509Pointer { $0 } ?? x509
        X509V3_set_ctx(&context, issuerPointer, x509, nil, nil, 0)
        var extensions: [(Int32, String)] = []
        if let ca = basicConstraintsCA { extensions.append((NID_basic_constraints, ca ? "critical,CA:TRUE" : "critical,CA:FALSE")) }
        if !keyUsage.isEmpty { extensions.append((NID_key_usage, "critical," + keyUsage.joined(separator: ","))) }
        if !extendedKeyUsage.isEmpty { extensions.append((NID_ext_key_usage, extendedKeyUsage.joined(separator: ","))) }
        if !dnsNames.isEmpty { extensions.append((NID_subject_alt_name, dnsNames.map { "DNS:\($0)" }.joined(separator: ","))) }
        extensions.append((NID_subject_key_identifier, "hash"))
        for (nid, value) in extensions {
            guard let ext = X509V3_EXT_conf_nid(nil, &context, nid, value) else {
                throw OpenSSLError.drain("building extension \(String(cString: OBJ_nid2sn(nid)))=\(value)")
            }
            defer { X509_EXTENSION_free(ext) }
            try check(X509_add_ext(x509, ext, -1) == 1, "adding extension")
        }
        try (issuer?.key ?? key).withUnsafeEVPPKEYPointer { pkey in
            try check(X509_sign(x509, pkey, EVP_sha256()) > 0, "signing certificate")
        }
        withExtendedLifetime(issuer) {}
        // The finished certificate gets a fresh wrapper: its thumbprint is taken at
        // wrapping time, and the certificate is only complete now.
        guard let finished = X509_dup(x509) else { throw OpenSSLError.drain("copying certificate") }
        withExtendedLifetime(unfinished) {}
        return X509Certificate(owning: finished)
    }
}

/// One attribute of a distinguished name, e.g. O=Contoso.
public struct SubjectAttribute: Sendable, Equatable {
    public var field: String
    public var value: String
    public init(field: String, value: String) {
        self.field = field
        self.value = value
    }

    /// Parses "CN=mail.contoso.com, O=Contoso, C=US" (commas inside values escaped as "\,").
    public static func parse(_ text: String) -> [SubjectAttribute]? {
        var parts: [String] = []
        var current = ""
        var escaped = false
        for character in text {
            if escaped { current.append(character); escaped = false; continue }
            if character == "\\" { escaped = true; continue }
            if character == "," {
                parts.append(current)
                current = ""
            } else {
                current.append(character)
            }
        }
        parts.append(current)
        var result: [SubjectAttribute] = []
        for part in parts {
            let trimmed = part.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            guard let equals = trimmed.firstIndex(of: "=") else { return nil }
            let field = trimmed[..<equals].trimmingCharacters(in: .whitespaces).uppercased()
            let value = trimmed[trimmed.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            guard ["CN", "O", "OU", "C", "L", "ST", "EMAILADDRESS"].contains(field), !value.isEmpty else { return nil }
            result.append(SubjectAttribute(field: field == "EMAILADDRESS" ? "emailAddress" : field, value: value))
        }
        return result.isEmpty ? nil : result
    }
}
