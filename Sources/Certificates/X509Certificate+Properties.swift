import Foundation
internal import COpenSSL
internal import CShims

/// The X.509 facts `mailedge cert list --format list` shows (DESIGN.md's
/// Properties), read straight from OpenSSL's parsed certificate. Read-only, so safe
/// from any thread like the rest of `X509Certificate`.
extension X509Certificate {
    /// The serial number in upper-case hex, as `openssl x509 -serial` prints it.
    public var serialNumberHex: String {
        withUnsafeX509Pointer { x509 in
            guard let serial = X509_get0_serialNumber(x509),
                  let bignum = ASN1_INTEGER_to_BN(serial, nil) else { return "" }
            defer { BN_free(bignum) }
            guard let hex = BN_bn2hex(bignum) else { return "" }
            defer { cshim_OPENSSL_free(hex) }
            return String(cString: hex)
        }
    }

    /// EnhancedKeyUsageList: "Server Authentication (1.3.6.1.5.5.7.3.1)", in
    /// certificate order; empty when the extension is absent.
    public var extendedKeyUsage: [String] {
        withUnsafeX509Pointer { x509 in
            guard let raw = X509_get_ext_d2i(x509, NID_ext_key_usage, nil, nil) else { return [] }
            let usages = OpaquePointer(raw)
            defer { EXTENDED_KEY_USAGE_free(usages) }
            var result: [String] = []
            for i in 0..<OPENSSL_sk_num(usages) {
                guard let entry = OPENSSL_sk_value(usages, i) else { continue }
                let object = OpaquePointer(entry)
                var buffer = [CChar](repeating: 0, count: 128)
                let length = OBJ_obj2txt(&buffer, Int32(buffer.count), object, 1)
                guard length > 0 else { continue }
                let oid = String(decoding: buffer.prefix(Int(min(length, Int32(buffer.count - 1)))).map { UInt8(bitPattern: $0) },
                                 as: UTF8.self)
                result.append("\(Self.extendedKeyUsageName(nid: OBJ_obj2nid(object))) (\(oid))")
            }
            return result
        }
    }

    /// Key usage bits by their OpenSSL configuration names ("digitalSignature",
    /// "keyEncipherment"); empty when the extension is absent.
    public var keyUsage: [String] {
        let bits = withUnsafeX509Pointer { X509_get_key_usage($0) }
        guard bits != UInt32.max else { return [] }
        let names: [(UInt32, String)] = [
            (UInt32(KU_DIGITAL_SIGNATURE), "digitalSignature"), (UInt32(KU_NON_REPUDIATION), "nonRepudiation"),
            (UInt32(KU_KEY_ENCIPHERMENT), "keyEncipherment"), (UInt32(KU_DATA_ENCIPHERMENT), "dataEncipherment"),
            (UInt32(KU_KEY_AGREEMENT), "keyAgreement"), (UInt32(KU_KEY_CERT_SIGN), "keyCertSign"),
            (UInt32(KU_CRL_SIGN), "cRLSign"), (UInt32(KU_ENCIPHER_ONLY), "encipherOnly"),
            (UInt32(KU_DECIPHER_ONLY), "decipherOnly"),
        ]
        return names.filter { bits & $0.0 != 0 }.map(\.1)
    }

    /// nil when the certificate has no basicConstraints extension; otherwise its cA flag.
    public var basicConstraintsCA: Bool? {
        let flags = withUnsafeX509Pointer { X509_get_extension_flags($0) }
        guard flags & UInt32(EXFLAG_BCONS) != 0 else { return nil }
        return flags & UInt32(EXFLAG_CA) != 0
    }

    /// KeyAlgorithm: "RSA" or "ECC" (other algorithms by OpenSSL's short name).
    public var publicKeyAlgorithm: String {
        withUnsafeX509Pointer { x509 in
            guard let key = X509_get0_pubkey(x509) else { return "" }
            switch EVP_PKEY_get_base_id(key) {
            case EVP_PKEY_RSA, EVP_PKEY_RSA_PSS: return "RSA"
            case EVP_PKEY_EC: return "ECC"
            case let id: return OBJ_nid2sn(id).map { String(cString: $0) } ?? "unknown"
            }
        }
    }

    /// PublicKeySize in bits (2048 for RSA 2048, 256 for P-256).
    public var publicKeySize: Int {
        withUnsafeX509Pointer { x509 in
            guard let key = X509_get0_pubkey(x509) else { return 0 }
            return Int(EVP_PKEY_get_bits(key))
        }
    }

    /// The NIST name of an EC key's curve ("P-256"), or OpenSSL's group name for
    /// curves without one; nil for non-EC keys.
    public var publicKeyCurve: String? {
        withUnsafeX509Pointer { x509 in
            guard let key = X509_get0_pubkey(x509), EVP_PKEY_get_base_id(key) == EVP_PKEY_EC else { return nil }
            var buffer = [CChar](repeating: 0, count: 80)
            var length = 0
            guard EVP_PKEY_get_group_name(key, &buffer, buffer.count, &length) == 1 else {
                ERR_clear_error()
                return nil
            }
            let group = String(decoding: buffer.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            let nid = OBJ_sn2nid(group)
            if nid != NID_undef, let nist = EC_curve_nid2nist(nid) { return String(cString: nist) }
            return group
        }
    }

    /// The DER encoding (what the thumbprint hashes).
    public var derBytes: [UInt8] {
        withUnsafeX509Pointer { x509 in
            let length = i2d_X509(x509, nil)
            guard length > 0 else { return [] }
            var bytes = [UInt8](repeating: 0, count: Int(length))
            let written = bytes.withUnsafeMutableBufferPointer { buffer -> Int32 in
                var cursor = buffer.baseAddress
                return i2d_X509(x509, &cursor)
            }
            return written == length ? bytes : []
        }
    }

    /// Parses one DER certificate; trailing bytes are refused, since they mean the
    /// input was not a single certificate.
    public static func load(der: [UInt8]) throws -> X509Certificate {
        OpenSSLError.clear()
        return try der.withUnsafeBufferPointer { buffer in
            var cursor = buffer.baseAddress
            guard let x509 = d2i_X509(nil, &cursor, buffer.count) else {
                throw OpenSSLError.drain("reading DER certificate")
            }
            let certificate = X509Certificate(owning: x509)
            if let base = buffer.baseAddress, let end = cursor, end - base != buffer.count {
                throw OpenSSLError(operation: "reading DER certificate",
                                   reasons: ["\(buffer.count - (end - base)) bytes after the certificate"])
            }
            return certificate
        }
    }

    /// Windows' names for the usual purposes (what Exchange's EnhancedKeyUsageList
    /// shows), OpenSSL's long name for the rest.
    static func extendedKeyUsageName(nid: Int32) -> String {
        switch nid {
        case NID_server_auth: return "Server Authentication"
        case NID_client_auth: return "Client Authentication"
        case NID_code_sign: return "Code Signing"
        case NID_email_protect: return "Secure Email"
        case NID_time_stamp: return "Time Stamping"
        case NID_OCSP_sign: return "OCSP Signing"
        case NID_anyExtendedKeyUsage: return "Any Purpose"
        case NID_undef: return "Unknown Key Usage"
        default: return OBJ_nid2ln(nid).map { String(cString: $0) } ?? "Unknown Key Usage"
        }
    }
}
