import Foundation

/// Builds response bytes: atoms, quoted strings, literals (for strings with CR, LF,
/// NUL or 8-bit bytes, or very long ones), NIL, flag lists. Pure value helpers.
struct IMAPResponseWriter {
    private(set) var bytes: [UInt8] = []

    init() {}

    mutating func text(_ text: String) { bytes.append(contentsOf: text.utf8) }
    mutating func raw<C: Collection>(_ data: C) where C.Element == UInt8 { bytes.append(contentsOf: data) }
    mutating func crlf() { bytes.append(contentsOf: [0x0D, 0x0A]) }

    /// A string as quoted or literal, whichever it allows.
    mutating func string<C: Collection>(_ value: C) where C.Element == UInt8 {
        if Self.canQuote(value) {
            bytes.append(0x22)
            for byte in value {
                if byte == 0x22 || byte == 0x5C { bytes.append(0x5C) }
                bytes.append(byte)
            }
            bytes.append(0x22)
        } else {
            literal(value)
        }
    }

    mutating func string(_ value: String) { string(Array(value.utf8)) }

    mutating func nstring<C: Collection>(_ value: C?) where C.Element == UInt8 {
        if let value { string(value) } else { text("NIL") }
    }

    mutating func literal<C: Collection>(_ value: C) where C.Element == UInt8 {
        text("{\(value.count)}\r\n")
        bytes.append(contentsOf: value)
    }

    /// A mailbox name: atom when it is one, else quoted or literal.
    mutating func mailbox(_ name: String) {
        let utf8 = Array(name.utf8)
        if !utf8.isEmpty, utf8.allSatisfy(IMAPParser.isAStringChar), name.uppercased() != "NIL" {
            bytes.append(contentsOf: utf8)
        } else {
            string(utf8)
        }
    }

    static func canQuote<C: Collection>(_ value: C) -> Bool where C.Element == UInt8 {
        value.count <= 1024 && value.allSatisfy { $0 >= 0x20 && $0 < 0x7F || $0 == 0x09 }
    }

    /// `(\Seen \Recent)`: the system flags in a fixed order, \Recent last.
    static func flagList(_ flags: MessageFlags, recent: Bool) -> String {
        var names = MessageFlags.imapNames.filter { flags.contains($0.0) }.map(\.1)
        if recent { names.append("\\Recent") }
        return "(" + names.joined(separator: " ") + ")"
    }

    static func quoted(_ text: String) -> String {
        var writer = IMAPResponseWriter()
        writer.string(text)
        return String(decoding: writer.bytes, as: UTF8.self)
    }
}
