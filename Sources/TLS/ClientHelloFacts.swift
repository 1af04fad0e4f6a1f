internal import COpenSSL

/// What the certificate choice needs from a ClientHello, read in place from the
/// extensions OpenSSL exposes during the ClientHello callback: the SNI host name
/// and whether an ECDSA P-256 certificate can be used with this client (it offers
/// an ECDSA signature algorithm, P-256 among its groups, and an ECDHE-ECDSA suite
/// or TLS 1.3 — INTEROP.md: all three or the handshake ends in "no shared cipher").
struct ClientHelloFacts {
    var serverName: String?
    var offersECDSAP256 = false

    init(ssl: OpaquePointer, allowsTLS13: Bool) {
        serverName = Self.serverName(ssl)
        let tls13 = allowsTLS13
            && (Self.extensionContains(ssl, UInt32(TLSEXT_TYPE_supported_versions), lengthBytes: 1) { $0 == 0x0304 } ?? false)
        // Without signature_algorithms a TLS 1.2 client accepts the suite's own algorithm.
        let ecdsaSignature = Self.extensionContains(ssl, UInt32(TLSEXT_TYPE_signature_algorithms), lengthBytes: 2) {
            $0 == 0x0403 || (!tls13 && $0 & 0xFF == 0x03)
        } ?? true
        let p256 = Self.extensionContains(ssl, UInt32(TLSEXT_TYPE_supported_groups), lengthBytes: 2) { $0 == 0x0017 } ?? true
        offersECDSAP256 = ecdsaSignature && p256 && (tls13 || Self.offersECDSACipher(ssl))
    }

    private static func serverName(_ ssl: OpaquePointer) -> String? {
        var data: UnsafePointer<UInt8>?
        var length = 0
        guard SSL_client_hello_get0_ext(ssl, UInt32(TLSEXT_TYPE_server_name), &data, &length) == 1,
              let data, length >= 5 else { return nil }
        let bytes = UnsafeBufferPointer(start: data, count: length)
        // server_name_list: length(2), then type(1) = host_name(0), length(2), name.
        guard bytes[2] == 0 else { return nil }
        let nameLength = Int(bytes[3]) << 8 | Int(bytes[4])
        guard nameLength > 0, 5 + nameLength <= length else { return nil }
        return String(decoding: bytes[5..<(5 + nameLength)], as: UTF8.self)
    }

    /// Whether an extension's list of 16-bit values (behind a 1- or 2-byte length)
    /// holds one that satisfies `test`; nil when the extension is absent. Reads the
    /// ClientHello in place, allocating nothing.
    private static func extensionContains(_ ssl: OpaquePointer, _ type: UInt32, lengthBytes: Int, _ test: (UInt16) -> Bool) -> Bool? {
        var data: UnsafePointer<UInt8>?
        var length = 0
        guard SSL_client_hello_get0_ext(ssl, type, &data, &length) == 1, let data, length >= lengthBytes else { return nil }
        let bytes = UnsafeBufferPointer(start: data, count: length)
        var index = lengthBytes
        while index + 1 < length {
            if test(UInt16(bytes[index]) << 8 | UInt16(bytes[index + 1])) { return true }
            index += 2
        }
        return false
    }

    /// ECDHE-ECDSA suites of the policy (AES-GCM and ChaCha20-Poly1305).
    private static func offersECDSACipher(_ ssl: OpaquePointer) -> Bool {
        var data: UnsafePointer<UInt8>?
        let length = SSL_client_hello_get0_ciphers(ssl, &data)
        guard let data, length >= 2 else { return false }
        let bytes = UnsafeBufferPointer(start: data, count: length)
        var index = 0
        while index + 1 < length {
            switch UInt16(bytes[index]) << 8 | UInt16(bytes[index + 1]) {
            case 0xC02B, 0xC02C, 0xCCA9: return true
            default: index += 2
            }
        }
        return false
    }
}
