import Foundation

/// A command line split into its verb and argument. Built by `SMTPCommandParser`.
struct SMTPCommandLine: Equatable {
    /// The verb, upper-cased ("MAIL").
    var verb: String
    /// Everything after the verb and the blanks following it, trailing blanks removed.
    var argument: String
}

/// One ESMTP parameter of MAIL or RCPT (`SIZE=1000`, `BODY=8BITMIME`).
struct SMTPParameter: Equatable {
    /// Upper-cased keyword.
    var keyword: String
    var value: String?
}

/// The reverse- or forward-path of a MAIL or RCPT command.
enum SMTPPathParse: Equatable {
    case path(address: String, parameters: [SMTPParameter])
    /// "FROM:"/"TO:" missing, no angle brackets, junk after ">" or a malformed parameter.
    case syntaxError
    /// The brackets are there but the address inside is not a valid mailbox.
    case badAddress
}

/// Stateless parsing of SMTP command lines (RFC 5321 section 4.1). Pure functions,
/// safe from any thread. Never traps on client input.
enum SMTPCommandParser {
    enum LineError: Error, Equatable {
        /// NUL, another control character or a byte outside ASCII.
        case invalidCharacter
    }

    /// Splits a command line (line end already removed) into verb and argument.
    static func parse(_ line: [UInt8]) -> Result<SMTPCommandLine, LineError> {
        for byte in line where !(byte == 0x09 || (0x20...0x7E).contains(byte)) {
            return .failure(.invalidCharacter)
        }
        // Printable ASCII only from here: bytes are characters (every connection's
        // EHLO and STARTTLS come through here; String indexing cost ~5 K instructions).
        func isBlank(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 }
        var verbStart = 0
        while verbStart < line.count, isBlank(line[verbStart]) { verbStart += 1 }
        var verbEnd = verbStart
        while verbEnd < line.count, !isBlank(line[verbEnd]) { verbEnd += 1 }
        var argumentStart = verbEnd
        while argumentStart < line.count, isBlank(line[argumentStart]) { argumentStart += 1 }
        var argumentEnd = line.count
        while argumentEnd > argumentStart, isBlank(line[argumentEnd - 1]) { argumentEnd -= 1 }
        // Strings made from buffers: from an ArraySlice or a lazy map, String(decoding:)
        // took a dynamic cast and a generic copy (~1.5 K instructions a command).
        return line.withUnsafeBufferPointer { bytes in
            let verb = String(unsafeUninitializedCapacity: verbEnd - verbStart) { out in
                for index in verbStart..<verbEnd {
                    let byte = bytes[index]
                    out[index - verbStart] = byte >= 0x61 && byte <= 0x7A ? byte - 0x20 : byte
                }
                return verbEnd - verbStart
            }
            let argument = String(decoding: UnsafeBufferPointer(rebasing: bytes[argumentStart..<argumentEnd]), as: UTF8.self)
            return .success(SMTPCommandLine(verb: verb, argument: argument))
        }
    }

    /// Parses `FROM:<path> params` or `TO:<path> params`. A blank after the colon is
    /// tolerated because many clients send one.
    static func parsePath(_ argument: String, keyword: String,
                          allowNull: Bool, allowPostmaster: Bool) -> SMTPPathParse {
        let chars = Array(argument)
        let key = Array(keyword)
        guard chars.count >= key.count,
              String(chars[0..<key.count]).uppercased() == keyword.uppercased() else {
            return .syntaxError
        }
        var index = key.count
        while index < chars.count, chars[index] == " " { index += 1 }
        guard index < chars.count, chars[index] == "<" else { return .syntaxError }
        index += 1
        let innerStart = index
        var inQuote = false
        var closing: Int?
        while index < chars.count {
            let char = chars[index]
            if inQuote {
                if char == "\\" { index += 1 } else if char == "\"" { inQuote = false }
            } else if char == "\"" {
                inQuote = true
            } else if char == ">" {
                closing = index
                break
            }
            index += 1
        }
        guard let closingIndex = closing else { return .syntaxError }
        let inner = String(chars[innerStart..<closingIndex])
        let rest = chars[(closingIndex + 1)...]
        guard rest.isEmpty || rest.first == " " else { return .syntaxError }
        guard let parameters = parseParameters(String(rest)) else { return .syntaxError }

        if inner.isEmpty {
            return allowNull ? .path(address: "", parameters: parameters) : .badAddress
        }
        if allowPostmaster, inner.lowercased() == "postmaster" {
            return .path(address: inner, parameters: parameters)
        }
        var address = inner
        // An RFC 5321 source route (`@a,@b:user@c`) must be accepted and ignored.
        if address.hasPrefix("@") {
            guard let colon = address.firstIndex(of: ":") else { return .badAddress }
            address = String(address[address.index(after: colon)...])
        }
        guard SMTPAddressSyntax.isValidMailbox(address) else { return .badAddress }
        return .path(address: address, parameters: parameters)
    }

    /// `KEY[=VALUE]` words separated by blanks; nil when a word has an empty or
    /// invalid keyword.
    static func parseParameters(_ text: String) -> [SMTPParameter]? {
        var result: [SMTPParameter] = []
        for word in text.split(separator: " ", omittingEmptySubsequences: true) {
            let keyword: Substring
            var value: String?
            if let equals = word.firstIndex(of: "=") {
                keyword = word[..<equals]
                value = String(word[word.index(after: equals)...])
            } else {
                keyword = word
            }
            guard !keyword.isEmpty,
                  keyword.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }) else {
                return nil
            }
            result.append(SMTPParameter(keyword: keyword.uppercased(), value: value))
        }
        return result
    }

    /// The value of `SIZE=`: `.some(n)`, `.none` for a malformed value, `Int.max` for
    /// a number too large for `Int` (it exceeds any limit anyway).
    static func parseSize(_ value: String?) -> Int? {
        guard let value, !value.isEmpty, value.allSatisfy({ $0.isASCII && $0.isNumber }) else {
            return nil
        }
        return Int(value) ?? Int.max
    }

    static func trimBlanks<S: StringProtocol>(_ text: S) -> String {
        var end = text.endIndex
        while end > text.startIndex {
            let previous = text.index(before: end)
            guard text[previous] == " " || text[previous] == "\t" else { break }
            end = previous
        }
        var start = text.startIndex
        while start < end, text[start] == " " || text[start] == "\t" { start = text.index(after: start) }
        return String(text[start..<end])
    }
}
