import Foundation

/// RFC 5321 mailbox syntax (section 4.1.2) for ASCII addresses: a dot-string or
/// quoted-string local part, then a domain name or an address literal. Pure functions.
enum SMTPAddressSyntax {
    static let maxLocalPart = 64
    static let maxDomain = 255
    static let maxAddress = 254

    static func isValidMailbox(_ address: String) -> Bool {
        let chars = Array(address)
        guard !chars.isEmpty, chars.count <= maxAddress,
              chars.allSatisfy({ $0.isASCII }),
              let at = chars.lastIndex(of: "@") else { return false }
        let local = chars[..<at]
        let domain = chars[(at + 1)...]
        return isValidLocalPart(local) && isValidDomainOrLiteral(domain)
    }

    static func isValidLocalPart(_ local: ArraySlice<Character>) -> Bool {
        guard !local.isEmpty, local.count <= maxLocalPart else { return false }
        if local.first == "\"" { return isValidQuotedString(local) }
        // Dot-string: atoms separated by single dots.
        let atoms = local.split(separator: ".", omittingEmptySubsequences: false)
        return atoms.allSatisfy { atom in !atom.isEmpty && atom.allSatisfy(isAtext) }
    }

    static func isValidQuotedString(_ text: ArraySlice<Character>) -> Bool {
        guard text.count >= 2, text.first == "\"", text.last == "\"" else { return false }
        let body = Array(text.dropFirst().dropLast())
        var index = 0
        while index < body.count {
            guard let ascii = body[index].asciiValue else { return false }
            if ascii == 0x5C {  // quoted-pair: backslash + any printable
                index += 1
                guard index < body.count, let next = body[index].asciiValue,
                      (0x20...0x7E).contains(next) else { return false }
            } else if ascii == 0x22 || !(0x20...0x7E).contains(ascii) {
                return false
            }
            index += 1
        }
        return true
    }

    static func isValidDomainOrLiteral(_ domain: ArraySlice<Character>) -> Bool {
        if domain.first == "[" { return isValidAddressLiteral(domain) }
        return isValidDomain(domain)
    }

    static func isValidDomain(_ domain: ArraySlice<Character>) -> Bool {
        guard !domain.isEmpty, domain.count <= maxDomain else { return false }
        let labels = domain.split(separator: ".", omittingEmptySubsequences: false)
        return labels.allSatisfy { label in
            guard !label.isEmpty, label.count <= 63,
                  label.first != "-", label.last != "-" else { return false }
            return label.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
        }
    }

    /// `[192.0.2.1]`, `[IPv6:2001:db8::1]` or a general `[tag:content]` literal.
    static func isValidAddressLiteral(_ literal: ArraySlice<Character>) -> Bool {
        guard literal.count >= 3, literal.count <= 64, literal.first == "[", literal.last == "]" else {
            return false
        }
        let content = String(literal.dropFirst().dropLast())
        if content.lowercased().hasPrefix("ipv6:") {
            let address = content.dropFirst(5)
            return !address.isEmpty && address.contains(":")
                && address.allSatisfy { $0.isHexDigit || $0 == ":" || $0 == "." }
        }
        if let colon = content.firstIndex(of: ":") {
            let tag = content[..<colon]
            let value = content[content.index(after: colon)...]
            return !tag.isEmpty && tag.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
                && !value.isEmpty
                && value.allSatisfy { ch in
                    guard let ascii = ch.asciiValue else { return false }
                    return (0x21...0x7E).contains(ascii) && ch != "[" && ch != "]" && ch != "\\"
                }
        }
        let octets = content.split(separator: ".", omittingEmptySubsequences: false)
        return octets.count == 4 && octets.allSatisfy { octet in
            guard (1...3).contains(octet.count), octet.allSatisfy({ $0.isASCII && $0.isNumber }),
                  let number = Int(octet) else { return false }
            return number <= 255
        }
    }

    static func isAtext(_ char: Character) -> Bool {
        guard let ascii = char.asciiValue else { return false }
        switch ascii {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: return true
        default: return "!#$%&'*+-/=?^_`{|}~".contains(char)
        }
    }
}
