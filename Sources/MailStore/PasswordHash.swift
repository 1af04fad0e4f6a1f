import Foundation
internal import COpenSSL

/// Password hashes with OpenSSL's scrypt (a slow, memory-hard KDF), stored as
/// `scrypt$N$r$p$<salt base64>$<hash base64>`.
public enum PasswordHash {
    public static let defaultCost = (n: UInt64(1) << 15, r: UInt64(8), p: UInt64(1))

    public static func make(password: String, n: UInt64 = defaultCost.n, r: UInt64 = defaultCost.r, p: UInt64 = defaultCost.p) throws -> String {
        var salt = [UInt8](repeating: 0, count: 16)
        guard RAND_bytes(&salt, Int32(salt.count)) == 1 else { throw StoreError.crypto("RAND_bytes failed") }
        let hash = try derive(password: password, salt: salt, n: n, r: r, p: p)
        return "scrypt$\(n)$\(r)$\(p)$\(Data(salt).base64EncodedString())$\(Data(hash).base64EncodedString())"
    }

    /// Constant-time comparison of the derived key with the stored one.
    public static func verify(password: String, against stored: String) -> Bool {
        let parts = stored.split(separator: "$", omittingEmptySubsequences: false)
        guard parts.count == 6, parts[0] == "scrypt",
              let n = UInt64(parts[1]), let r = UInt64(parts[2]), let p = UInt64(parts[3]),
              n > 1, n <= 1 << 20, r >= 1, r <= 32, p >= 1, p <= 16,
              let salt = Data(base64Encoded: String(parts[4])),
              let expected = Data(base64Encoded: String(parts[5])),
              let derived = try? derive(password: password, salt: Array(salt), n: n, r: r, p: p, length: expected.count)
        else { return false }
        var difference: UInt8 = 0
        for (a, b) in zip(derived, expected) { difference |= a ^ b }
        return difference == 0 && derived.count == expected.count
    }

    static func derive(password: String, salt: [UInt8], n: UInt64, r: UInt64, p: UInt64, length: Int = 32) throws -> [UInt8] {
        var key = [UInt8](repeating: 0, count: length)
        let pass = Array(password.utf8)
        let maxMemory = 128 * n * r * p + 16 * 1024 * 1024
        let ok = pass.withUnsafeBufferPointer { passBuffer in
            passBuffer.withMemoryRebound(to: CChar.self) { passChars in
                EVP_PBE_scrypt(passChars.baseAddress, passChars.count, salt, salt.count, n, r, p, maxMemory, &key, key.count)
            }
        }
        guard ok == 1 else { throw StoreError.crypto("scrypt failed") }
        return key
    }
}
