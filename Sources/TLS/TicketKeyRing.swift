import Foundation
import Synchronization
internal import COpenSSL

/// Session-ticket keys for TLS resumption: AES-256-CBC + HMAC-SHA256, as OpenSSL's
/// own default scheme, but rotating. Generated in memory (a new encryption key
/// every `rotation`, older keys still decrypt for one more period, then are
/// dropped), or read from a farm's shared key file (nginx's format: 80 bytes per
/// key — 16 name, 32 HMAC secret, 32 AES key — several keys concatenated, the
/// first encrypts, all decrypt; rotate by rewriting the file everywhere). Shared by
/// every connector's SSL_CTX and every worker thread; all state under one lock.
public final class TicketKeyRing: Sendable {
    struct Key: Sendable {
        var name: [UInt8]    // 16
        var hmac: [UInt8]    // 32
        var aes: [UInt8]     // 32
        var created: Date
    }

    private let keys: Mutex<[Key]>   // newest first
    public let rotation: TimeInterval?
    public let source: String

    /// In-memory keys rotated every `rotation` seconds.
    public init(rotation: TimeInterval = 12 * 3600) {
        self.rotation = rotation
        source = "generated in memory, rotated every \(Int(rotation))s"
        keys = Mutex([Self.generate()])
    }

    /// Keys from a farm's file: raw 80-byte keys, or base64 lines of 80 bytes each.
    public init(file: String) throws(TLSSetupError) {
        guard let data = FileManager.default.contents(atPath: file) else {
            throw TLSSetupError(key: "tls.session_ticket_keys", message: "\(file): cannot read the ticket key file")
        }
        var raw = Array(data)
        let text = String(decoding: data, as: UTF8.self)
        if raw.count % 80 != 0 || raw.isEmpty {
            let lines = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            let decoded = lines.compactMap { Data(base64Encoded: $0).map(Array.init) }
            guard !lines.isEmpty, decoded.count == lines.count, decoded.allSatisfy({ $0.count == 80 }) else {
                throw TLSSetupError(key: "tls.session_ticket_keys",
                                    message: "\(file): expected one or more 80-byte keys (raw, e.g. `openssl rand 80`, or one base64 line per key), got \(data.count) bytes")
            }
            raw = decoded.flatMap { $0 }
        }
        var loaded: [Key] = []
        for start in stride(from: 0, to: raw.count, by: 80) {
            let key = Array(raw[start..<start + 80])
            loaded.append(Key(name: Array(key[0..<16]), hmac: Array(key[16..<48]), aes: Array(key[48..<80]), created: Date()))
        }
        rotation = nil
        source = "\(file) (\(loaded.count) key(s))"
        keys = Mutex(loaded)
    }

    static func generate() -> Key {
        var bytes = [UInt8](repeating: 0, count: 80)
        _ = RAND_bytes(&bytes, 80)
        return Key(name: Array(bytes[0..<16]), hmac: Array(bytes[16..<48]), aes: Array(bytes[48..<80]), created: Date())
    }

    /// AES-256-CBC fetched once: the legacy `EVP_aes_256_cbc()` makes OpenSSL 3 fetch
    /// the implementation again on every Init (a locked lookup per handshake).
    /// Immutable after the fetch and thread-safe to use (OpenSSL's method objects are).
    nonisolated(unsafe) private static let aes256CBC: OpaquePointer? = EVP_CIPHER_fetch(nil, "AES-256-CBC", nil)

    /// OpenSSL's ticket callback contract: 1 = done, 2 = decrypted with an old key
    /// (issue a fresh ticket), 0 = unknown key (full handshake), -1 = error.
    func handle(name: UnsafeMutablePointer<UInt8>, iv: UnsafeMutablePointer<UInt8>, cipher: OpaquePointer, mac: OpaquePointer, encrypt: Bool) -> Int32 {
        keys.withLock { keys -> Int32 in
            if encrypt {
                if let rotation, let newest = keys.first, Date().timeIntervalSince(newest.created) > rotation {
                    keys.insert(Self.generate(), at: 0)
                    // A key decrypts for one rotation period after it stopped encrypting.
                    keys.removeAll { Date().timeIntervalSince($0.created) > 2 * rotation }
                }
                let key = keys[0]
                guard RAND_bytes(iv, Int32(EVP_MAX_IV_LENGTH)) == 1 else { return -1 }
                key.name.withUnsafeBufferPointer { name.update(from: $0.baseAddress!, count: 16) }
                guard key.aes.withUnsafeBufferPointer({ EVP_EncryptInit_ex(cipher, Self.aes256CBC ?? EVP_aes_256_cbc(), nil, $0.baseAddress, iv) }) == 1,
                      Self.setHMAC(mac, key.hmac) else { return -1 }
                return 1
            }
            guard let index = keys.firstIndex(where: { key in key.name.withUnsafeBufferPointer { memcmp($0.baseAddress!, name, 16) == 0 } }) else {
                return 0
            }
            let key = keys[index]
            guard Self.setHMAC(mac, key.hmac),
                  key.aes.withUnsafeBufferPointer({ EVP_DecryptInit_ex(cipher, Self.aes256CBC ?? EVP_aes_256_cbc(), nil, $0.baseAddress, iv) }) == 1 else {
                return -1
            }
            return index == 0 ? 1 : 2
        }
    }

    private static func setHMAC(_ mac: OpaquePointer, _ secret: [UInt8]) -> Bool {
        withUnsafeTemporaryAllocation(of: OSSL_PARAM.self, capacity: 3) { params in
            secret.withUnsafeBufferPointer { key in
                "key".withCString { keyName in
                    "digest".withCString { digestName in
                        "SHA256".withCString { digest in
                            params[0] = OSSL_PARAM_construct_octet_string(keyName, UnsafeMutableRawPointer(mutating: key.baseAddress), 32)
                            params[1] = OSSL_PARAM_construct_utf8_string(digestName, UnsafeMutablePointer(mutating: digest), 0)
                            params[2] = OSSL_PARAM_construct_end()
                            return EVP_MAC_CTX_set_params(mac, params.baseAddress) == 1
                        }
                    }
                }
            }
        }
    }

    /// Test hook: pretend the newest key is older than it is, to force a rotation.
    func age(by seconds: TimeInterval) {
        keys.withLock { keys in
            for index in keys.indices { keys[index].created.addTimeInterval(-seconds) }
        }
    }

    var keyCount: Int { keys.withLock { $0.count } }
}
