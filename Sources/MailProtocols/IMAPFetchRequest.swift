import Foundation

/// A `BODY[...]` section (RFC 3501 section 6.4.5): a part path and what of it.
struct IMAPSectionSpec: Equatable, Sendable {
    enum Text: Equatable, Sendable {
        case header
        case headerFields([String])
        case headerFieldsNot([String])
        case text
        case mime
    }

    var part: [Int] = []
    var text: Text?

    /// The text between the brackets in the response, e.g. `1.HEADER.FIELDS (FROM)`.
    var label: String {
        var label = part.map(String.init).joined(separator: ".")
        guard let text else { return label }
        if !label.isEmpty { label += "." }
        switch text {
        case .header: label += "HEADER"
        case .headerFields(let names): label += "HEADER.FIELDS (" + names.joined(separator: " ") + ")"
        case .headerFieldsNot(let names): label += "HEADER.FIELDS.NOT (" + names.joined(separator: " ") + ")"
        case .text: label += "TEXT"
        case .mime: label += "MIME"
        }
        return label
    }
}

/// `<start.count>` of a partial fetch.
struct IMAPPartial: Equatable, Sendable {
    var start: Int
    var count: Int
}

/// One FETCH data item.
enum IMAPFetchItem: Equatable, Sendable {
    case flags, uid, internalDate, rfc822Size, envelope, body, bodyStructure
    case rfc822, rfc822Header, rfc822Text
    case section(IMAPSectionSpec, peek: Bool, partial: IMAPPartial?)

    /// Needs the message bytes from the store.
    var needsMessage: Bool {
        switch self {
        case .flags, .uid, .internalDate, .rfc822Size: return false
        default: return true
        }
    }

    /// Implicitly sets \Seen (RFC 3501: BODY[...] without PEEK, RFC822, RFC822.TEXT).
    var setsSeen: Bool {
        switch self {
        case .rfc822, .rfc822Text: return true
        case .section(_, let peek, _): return !peek
        default: return false
        }
    }
}

/// Parses the data items of FETCH: a macro (ALL, FAST, FULL), one item, or a
/// parenthesised list.
enum IMAPFetchRequest {
    static func parse(_ parser: inout IMAPParser) throws -> [IMAPFetchItem] {
        var items: [IMAPFetchItem] = []
        if parser.next == 0x28 {
            try parser.expect(0x28, "(")
            while parser.next != 0x29 {
                guard !parser.atEnd else { throw IMAPParseError("unterminated attribute list") }
                if !items.isEmpty { try parser.space() }
                items.append(try item(&parser))
            }
            try parser.expect(0x29, ")")
            guard !items.isEmpty else { throw IMAPParseError("empty fetch attribute list") }
            return items
        }
        let checkpoint = parser
        let name = try parser.itemName()
        switch name {
        case "ALL": return [.flags, .internalDate, .rfc822Size, .envelope]
        case "FAST": return [.flags, .internalDate, .rfc822Size]
        case "FULL": return [.flags, .internalDate, .rfc822Size, .envelope, .body]
        default:
            parser = checkpoint
            return [try item(&parser)]
        }
    }

    static func item(_ parser: inout IMAPParser) throws -> IMAPFetchItem {
        let name = try parser.itemName()
        switch name {
        case "FLAGS": return .flags
        case "UID": return .uid
        case "INTERNALDATE": return .internalDate
        case "RFC822.SIZE": return .rfc822Size
        case "ENVELOPE": return .envelope
        case "BODYSTRUCTURE": return .bodyStructure
        case "RFC822": return .rfc822
        case "RFC822.HEADER": return .rfc822Header
        case "RFC822.TEXT": return .rfc822Text
        case "BODY", "BODY.PEEK":
            guard parser.next == 0x5B else {
                if name == "BODY" { return .body }
                throw IMAPParseError("BODY.PEEK needs a section")
            }
            let spec = try section(&parser)
            var partial: IMAPPartial?
            if parser.next == 0x3C {  // "<"
                try parser.expect(0x3C, "<")
                let start = try parser.number()
                try parser.expect(0x2E, ".")
                let count = try parser.number()
                guard count > 0 else { throw IMAPParseError("invalid partial range") }
                try parser.expect(0x3E, ">")
                partial = IMAPPartial(start: start, count: count)
            }
            return .section(spec, peek: name == "BODY.PEEK", partial: partial)
        default:
            throw IMAPParseError("unknown fetch attribute")
        }
    }

    static func section(_ parser: inout IMAPParser) throws -> IMAPSectionSpec {
        try parser.expect(0x5B, "[")
        var spec = IMAPSectionSpec()
        while let byte = parser.next, (0x30...0x39).contains(byte) {
            let number = try parser.number()
            guard number > 0, spec.part.count < 64 else { throw IMAPParseError("invalid section part") }
            spec.part.append(number)
            guard parser.next == 0x2E else { break }
            try parser.expect(0x2E, ".")
        }
        if parser.next != 0x5D {
            let keyword = try parser.itemName()
            switch keyword {
            case "HEADER": spec.text = .header
            case "TEXT": spec.text = .text
            case "MIME":
                guard !spec.part.isEmpty else { throw IMAPParseError("MIME needs a part number") }
                spec.text = .mime
            case "HEADER.FIELDS", "HEADER.FIELDS.NOT":
                try parser.space()
                try parser.expect(0x28, "(")
                var names: [String] = []
                while parser.next != 0x29 {
                    if !names.isEmpty { try parser.space() }
                    let field = try parser.astringText()
                    guard !field.isEmpty, field.allSatisfy({ $0.isASCII && $0 != ":" && !$0.isWhitespace }) else {
                        throw IMAPParseError("invalid header field name")
                    }
                    names.append(field)
                }
                try parser.expect(0x29, ")")
                guard !names.isEmpty else { throw IMAPParseError("empty header field list") }
                spec.text = keyword == "HEADER.FIELDS" ? .headerFields(names) : .headerFieldsNot(names)
            default:
                throw IMAPParseError("invalid section")
            }
        }
        try parser.expect(0x5D, "]")
        return spec
    }
}
