import Foundation

/// SASL mechanisms the SMTP session implements itself (RFC 4616 PLAIN and the de-facto
/// LOGIN), plus the strict base64 they are carried in (RFC 4954). Pure functions; the
/// decoded credentials leave the session only in `SMTPAction.authenticate`.
enum SMTPSASL {
    enum Mechanism: String {
        case plain = "PLAIN"
        case login = "LOGIN"
    }

    struct Credentials: Equatable {
        var username: String
        var password: String
    }

    enum PlainError: Error, Equatable {
        /// Not three NUL-separated fields, empty authcid or invalid UTF-8.
        case malformed
        /// An authorization identity other than the authentication identity.
        case authzidMismatch
    }

    /// "Username:" and "Password:" in base64, the LOGIN prompts.
    static let loginUsernamePrompt = "VXNlcm5hbWU6"
    static let loginPasswordPrompt = "UGFzc3dvcmQ6"

    /// Decodes a client response. "=" is the empty initial response (RFC 4954).
    /// Padding may be omitted; anything else outside the base64 alphabet fails.
    static func decodeResponse(_ text: [UInt8]) -> [UInt8]? {
        if text == [0x3D] { return [] }
        return decodeBase64(text)
    }

    static func decodeBase64(_ text: [UInt8]) -> [UInt8]? {
        var input = text[...]
        var padding = 0
        while input.last == 0x3D, padding < 2 {
            input = input.dropLast()
            padding += 1
        }
        if padding > 0, text.count % 4 != 0 { return nil }
        if input.count % 4 == 1 { return nil }
        var output: [UInt8] = []
        output.reserveCapacity(input.count * 3 / 4)
        var accumulator: UInt32 = 0
        var bits = 0
        for byte in input {
            guard let value = sextet(byte) else { return nil }
            accumulator = (accumulator << 6) | UInt32(value)
            bits += 6
            if bits >= 8 {
                bits -= 8
                output.append(UInt8(truncatingIfNeeded: accumulator >> UInt32(bits)))
                accumulator &= (1 << UInt32(bits)) - 1
            }
        }
        return output
    }

    private static func sextet(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x41...0x5A: return byte - 0x41
        case 0x61...0x7A: return byte - 0x61 + 26
        case 0x30...0x39: return byte - 0x30 + 52
        case 0x2B: return 62
        case 0x2F: return 63
        default: return nil
        }
    }

    /// `[authzid] NUL authcid NUL passwd` (RFC 4616).
    static func parsePlain(_ message: [UInt8]) -> Result<Credentials, PlainError> {
        let fields = message.split(separator: 0, maxSplits: 2, omittingEmptySubsequences: false)
        guard fields.count == 3,
              let authzid = utf8(fields[0]),
              let authcid = utf8(fields[1]), !authcid.isEmpty,
              let password = utf8(fields[2]), !fields[2].contains(0) else {
            return .failure(.malformed)
        }
        if !authzid.isEmpty, authzid != authcid { return .failure(.authzidMismatch) }
        return .success(Credentials(username: authcid, password: password))
    }

    /// A LOGIN field; nil when it is not UTF-8 or contains NUL.
    static func loginField(_ decoded: [UInt8]) -> String? {
        guard !decoded.contains(0) else { return nil }
        return utf8(decoded[...])
    }

    private static func utf8(_ bytes: ArraySlice<UInt8>) -> String? {
        String(bytes: bytes, encoding: .utf8)
    }
}
