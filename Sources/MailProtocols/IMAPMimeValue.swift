import Foundation

/// Structured header values: `Content-Type`-style `value; name=value` lists (RFC 2045
/// section 5.1) and RFC 5322 address lists, as far as BODYSTRUCTURE and ENVELOPE need
/// them. Nothing is decoded (encoded words stay as they are).
enum IMAPMimeValue {
    struct Parsed {
        var value: String
        /// Names upper-cased, values unquoted.
        var parameters: [(String, String)]
    }

    /// Tokens of a structured header: words, quoted strings (unquoted), specials.
    enum Token: Equatable {
        case word(String)
        case quoted(String)
        case special(Character)
    }

    static func tokenize(_ bytes: [UInt8], specials: Set<UInt8>) -> [Token] {
        var tokens: [Token] = []
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case 0x20, 0x09, 0x0D, 0x0A:
                index += 1
            case 0x28:  // comment, nested, skipped
                var depth = 0
                while index < bytes.count {
                    if bytes[index] == 0x5C { index += 2; continue }
                    if bytes[index] == 0x28 { depth += 1 }
                    if bytes[index] == 0x29 { depth -= 1; if depth == 0 { index += 1; break } }
                    index += 1
                }
            case 0x22:
                var value: [UInt8] = []
                index += 1
                while index < bytes.count, bytes[index] != 0x22 {
                    if bytes[index] == 0x5C, index + 1 < bytes.count { index += 1 }
                    if bytes[index] != 0x0D, bytes[index] != 0x0A { value.append(bytes[index]) }
                    index += 1
                }
                index += 1
                tokens.append(.quoted(String(decoding: value, as: UTF8.self)))
            default:
                if specials.contains(byte) {
                    tokens.append(.special(Character(UnicodeScalar(byte))))
                    index += 1
                } else {
                    let start = index
                    while index < bytes.count, !specials.contains(bytes[index]),
                          ![0x20, 0x09, 0x0D, 0x0A, 0x22, 0x28].contains(bytes[index]) { index += 1 }
                    tokens.append(.word(String(decoding: bytes[start..<index], as: UTF8.self)))
                }
            }
        }
        return tokens
    }

    /// `text/plain; charset="utf-8"` -> ("text/plain", [("CHARSET", "utf-8")]).
    static func parse(_ bytes: [UInt8]) -> Parsed {
        let tokens = tokenize(bytes, specials: [0x3B, 0x3D])  // ; =
        var value = ""
        var index = 0
        while index < tokens.count, tokens[index] != .special(";") {
            switch tokens[index] {
            case .word(let w), .quoted(let w): value += w
            case .special(let c): value.append(c)
            }
            index += 1
        }
        var parameters: [(String, String)] = []
        while index < tokens.count {
            // At ";": expect name "=" value.
            index += 1
            guard index + 2 < tokens.count, case .word(let name) = tokens[index], tokens[index + 1] == .special("=") else {
                while index < tokens.count, tokens[index] != .special(";") { index += 1 }
                continue
            }
            switch tokens[index + 2] {
            case .word(let v), .quoted(let v):
                parameters.append((name.uppercased(), v))
            case .special:
                break
            }
            index += 3
            while index < tokens.count, tokens[index] != .special(";") { index += 1 }
        }
        return Parsed(value: value, parameters: parameters)
    }

    /// One ENVELOPE address: a mailbox, or a group's start (host nil, mailbox the
    /// group name) or end (all nil).
    struct Address: Equatable {
        var name: String?
        var mailbox: String?
        var host: String?
    }

    /// An RFC 5322 address list (`"A" <a@x>, b@y (B), group: c@z;`).
    static func addresses(_ bytes: [UInt8]) -> [Address] {
        let tokens = tokenize(bytes, specials: [0x3C, 0x3E, 0x2C, 0x3A, 0x3B, 0x40])  // < > , : ; @
        var result: [Address] = []
        var current: [Token] = []
        var inAngle = false
        var inGroup = false
        func flush() {
            if let address = mailbox(current) { result.append(address) }
            current = []
        }
        for token in tokens {
            switch token {
            case .special("<"): inAngle = true; current.append(token)
            case .special(">"): inAngle = false; current.append(token)
            case .special(",") where !inAngle: flush()
            case .special(":") where !inAngle && !inGroup && !current.contains(.special("@")):
                let name = words(current)
                result.append(Address(name: nil, mailbox: name.isEmpty ? "" : name, host: nil))
                current = []
                inGroup = true
            case .special(";") where !inAngle && inGroup:
                flush()
                result.append(Address(name: nil, mailbox: nil, host: nil))
                inGroup = false
            default: current.append(token)
            }
        }
        flush()
        if inGroup { result.append(Address(name: nil, mailbox: nil, host: nil)) }
        return result
    }

    private static func words(_ tokens: [Token]) -> String {
        tokens.compactMap { token -> String? in
            switch token {
            case .word(let w), .quoted(let w): return w
            case .special: return nil
            }
        }.joined(separator: " ")
    }

    private static func mailbox(_ tokens: [Token]) -> Address? {
        guard !tokens.isEmpty else { return nil }
        var name: String?
        var spec = tokens
        if let open = tokens.firstIndex(of: .special("<")) {
            let display = words(Array(tokens[..<open]))
            name = display.isEmpty ? nil : display
            let close = tokens[open...].firstIndex(of: .special(">")) ?? tokens.count
            spec = Array(tokens[(open + 1)..<close])
            // Obsolete route "@a,@b:" before the address.
            if let colon = spec.lastIndex(of: .special(":")) { spec = Array(spec[(colon + 1)...]) }
        }
        guard !spec.isEmpty else { return name == nil ? nil : Address(name: name, mailbox: "", host: "MISSING_DOMAIN") }
        let at = spec.lastIndex(of: .special("@"))
        func join(_ part: ArraySlice<Token>) -> String {
            part.map { token -> String in
                switch token {
                case .word(let w), .quoted(let w): return w
                case .special(let c): return String(c)
                }
            }.joined()
        }
        let local = join(spec[..<(at ?? spec.count)])
        let host = at.map { join(spec[($0 + 1)...]) } ?? ""
        return Address(name: name, mailbox: local, host: host.isEmpty ? "MISSING_DOMAIN" : host)
    }
}
