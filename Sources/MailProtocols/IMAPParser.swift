import Foundation

/// A syntax error in a client command; `reason` goes into the BAD response, so it
/// never quotes the client's bytes.
struct IMAPParseError: Error, Equatable {
    var reason: String
    init(_ reason: String) { self.reason = reason }
}

/// Reads the tokens of one framed IMAP command (RFC 3501 section 9): atoms, quoted
/// strings, literals (their data is inline, as `IMAPCommandFramer` leaves it), lists,
/// numbers and sequence sets. A value type over the command bytes; never traps on
/// client input, every failure is an `IMAPParseError`.
struct IMAPParser {
    let bytes: [UInt8]
    private(set) var position = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var atEnd: Bool { position >= bytes.count }
    var next: UInt8? { position < bytes.count ? bytes[position] : nil }

    // MARK: Character classes

    static func isAtomChar(_ byte: UInt8) -> Bool {
        switch byte {
        case 0x00...0x20, 0x7F...0xFF: return false
        case 0x28, 0x29, 0x7B, 0x25, 0x2A, 0x22, 0x5C, 0x5D: return false  // ( ) { % * " \ ]
        default: return true
        }
    }

    static func isAStringChar(_ byte: UInt8) -> Bool { isAtomChar(byte) || byte == 0x5D }
    static func isTagChar(_ byte: UInt8) -> Bool { isAStringChar(byte) && byte != 0x2B }
    static func isListChar(_ byte: UInt8) -> Bool { isAStringChar(byte) || byte == 0x25 || byte == 0x2A }

    // MARK: Basic tokens

    mutating func expect(_ byte: UInt8, _ what: String) throws {
        guard next == byte else { throw IMAPParseError("expected \(what)") }
        position += 1
    }

    /// One or more spaces (clients that send two are tolerated).
    mutating func space() throws {
        guard next == 0x20 else { throw IMAPParseError("expected a space") }
        while next == 0x20 { position += 1 }
    }

    /// Consumes a space if one follows; true when it did.
    mutating func skipSpace() -> Bool {
        guard next == 0x20 else { return false }
        while next == 0x20 { position += 1 }
        return true
    }

    mutating func end() throws {
        while next == 0x20 { position += 1 }
        guard atEnd else { throw IMAPParseError("unexpected extra arguments") }
    }

    private mutating func run(while predicate: (UInt8) -> Bool) -> ArraySlice<UInt8> {
        let start = position
        while position < bytes.count, predicate(bytes[position]) { position += 1 }
        return bytes[start..<position]
    }

    mutating func tag() throws -> String {
        let run = run(while: Self.isTagChar)
        guard !run.isEmpty else { throw IMAPParseError("missing tag") }
        return String(decoding: run, as: UTF8.self)
    }

    mutating func atom() throws -> String {
        let run = run(while: Self.isAtomChar)
        guard !run.isEmpty else { throw IMAPParseError("expected an atom") }
        return String(decoding: run, as: UTF8.self)
    }

    /// An atom, upper-cased (command names, keywords).
    mutating func keyword() throws -> String { try atom().uppercased() }

    /// A keyword made of letters, digits and dots only (FETCH item names), upper-cased.
    mutating func itemName() throws -> String {
        let run = run(while: { (0x41...0x5A).contains($0 & 0xDF) || (0x30...0x39).contains($0) || $0 == 0x2E })
        guard !run.isEmpty else { throw IMAPParseError("expected an item name") }
        return String(decoding: run, as: UTF8.self).uppercased()
    }

    mutating func number() throws -> Int {
        let run = run(while: { (0x30...0x39).contains($0) })
        guard !run.isEmpty else { throw IMAPParseError("expected a number") }
        guard run.count <= 15 else { throw IMAPParseError("number too large") }
        return run.reduce(0) { $0 * 10 + Int($1 - 0x30) }
    }

    mutating func number32() throws -> UInt32 {
        let value = try number()
        guard value <= Int(UInt32.max) else { throw IMAPParseError("number too large") }
        return UInt32(value)
    }

    // MARK: Strings

    /// quoted / literal.
    mutating func string() throws -> [UInt8] {
        switch next {
        case 0x22: return try quoted()
        case 0x7B: return try literal()
        default: throw IMAPParseError("expected a string")
        }
    }

    mutating func quoted() throws -> [UInt8] {
        try expect(0x22, "a quoted string")
        var value: [UInt8] = []
        while position < bytes.count {
            let byte = bytes[position]
            position += 1
            switch byte {
            case 0x22:
                return value
            case 0x5C:
                guard let escaped = next, escaped == 0x22 || escaped == 0x5C else {
                    throw IMAPParseError("invalid escape in quoted string")
                }
                value.append(escaped)
                position += 1
            case 0x0D, 0x0A, 0x00:
                throw IMAPParseError("invalid character in quoted string")
            default:
                value.append(byte)
            }
        }
        throw IMAPParseError("unterminated quoted string")
    }

    mutating func literal() throws -> [UInt8] {
        try expect(0x7B, "a literal")
        let count = try number()
        if next == 0x2B { position += 1 }
        try expect(0x7D, "}")
        if next == 0x0D { position += 1 }
        try expect(0x0A, "a line end after the literal size")
        guard count <= bytes.count - position else { throw IMAPParseError("truncated literal") }
        let value = Array(bytes[position..<(position + count)])
        position += count
        return value
    }

    /// atom (with "]") / quoted / literal.
    mutating func astring() throws -> [UInt8] {
        if next == 0x22 || next == 0x7B { return try string() }
        let run = run(while: Self.isAStringChar)
        guard !run.isEmpty else { throw IMAPParseError("expected a string") }
        return Array(run)
    }

    mutating func astringText() throws -> String {
        String(decoding: try astring(), as: UTF8.self)
    }

    /// string / NIL.
    mutating func nstring() throws -> [UInt8]? {
        if next == 0x22 || next == 0x7B { return try string() }
        let word = try keyword()
        guard word == "NIL" else { throw IMAPParseError("expected a string or NIL") }
        return nil
    }

    /// A mailbox name; "INBOX" in any case is INBOX. Modified UTF-7 passes through.
    mutating func mailbox() throws -> String {
        let name = try astringText()
        guard !name.contains("\0"), !name.contains("\r"), !name.contains("\n") else {
            throw IMAPParseError("invalid mailbox name")
        }
        return Self.canonicalMailbox(name)
    }

    static func canonicalMailbox(_ name: String) -> String {
        name.caseInsensitiveCompare("INBOX") == .orderedSame ? "INBOX" : name
    }

    /// A LIST pattern: list-char run (with `%` and `*`) or a string.
    mutating func listMailbox() throws -> String {
        if next == 0x22 || next == 0x7B { return String(decoding: try string(), as: UTF8.self) }
        let run = run(while: Self.isListChar)
        guard !run.isEmpty else { throw IMAPParseError("expected a mailbox pattern") }
        return String(decoding: run, as: UTF8.self)
    }

    // MARK: Structured values

    /// `(flag ...)` or, with `allowBare`, flags separated by spaces up to the end.
    mutating func flagList(allowBare: Bool = false) throws -> [String] {
        var flags: [String] = []
        let parenthesised = next == 0x28
        if parenthesised {
            position += 1
        } else if !allowBare {
            throw IMAPParseError("expected a flag list")
        }
        while true {
            if parenthesised, next == 0x29 {
                position += 1
                return flags
            }
            if !parenthesised, atEnd { return flags }
            if !flags.isEmpty { try space() }
            var flag = ""
            if next == 0x5C {
                position += 1
                flag = "\\"
                if next == 0x2A { position += 1; flags.append("\\*"); continue }
            }
            flag += try atom()
            flags.append(flag)
            if parenthesised, atEnd { throw IMAPParseError("unterminated flag list") }
        }
    }

    mutating func sequenceSet() throws -> IMAPSequenceSet {
        var ranges: [IMAPSequenceSet.Range] = []
        repeat {
            let first = try sequenceBound()
            var last = first
            if next == 0x3A {  // ":"
                position += 1
                last = try sequenceBound()
            }
            ranges.append(IMAPSequenceSet.Range(first: first, last: last))
            guard next == 0x2C else { break }  // ","
            position += 1
        } while true
        return IMAPSequenceSet(ranges: ranges)
    }

    private mutating func sequenceBound() throws -> IMAPSequenceSet.Bound {
        if next == 0x2A {
            position += 1
            return .star
        }
        guard let byte = next, (0x30...0x39).contains(byte) else {
            throw IMAPParseError("invalid sequence set")
        }
        let value = try number32()
        guard value > 0 else { throw IMAPParseError("invalid sequence set") }
        return .number(value)
    }

    /// A SEARCH date: `1-Feb-1994`, optionally quoted; the day number (UTC).
    mutating func searchDate() throws -> Int {
        let text: String
        if next == 0x22 {
            text = String(decoding: try quoted(), as: UTF8.self)
        } else {
            text = String(decoding: run(while: { Self.isAtomChar($0) }), as: UTF8.self)
        }
        guard let day = IMAPDateFormat.parseDate(text) else { throw IMAPParseError("invalid date") }
        return day
    }

    /// APPEND's date-time: `"29-Nov-2026 05:43:55 +0000"`.
    mutating func dateTime() throws -> Date {
        let text = String(decoding: try quoted(), as: UTF8.self)
        guard let date = IMAPDateFormat.parseDateTime(text) else { throw IMAPParseError("invalid date-time") }
        return date
    }
}

/// A sequence set (`1,3:5,7:*`) of message sequence numbers or UIDs.
struct IMAPSequenceSet: Equatable, Sendable {
    enum Bound: Equatable, Sendable {
        case number(UInt32)
        case star
    }

    struct Range: Equatable, Sendable {
        var first: Bound
        var last: Bound
    }

    var ranges: [Range]

    /// Closed ranges with `*` replaced by `largest` (the message count or the highest
    /// UID). With no messages, a range that involves `*` is empty.
    func resolved(largest: UInt32) -> [ClosedRange<UInt32>] {
        ranges.compactMap { range in
            func value(_ bound: Bound) -> UInt32? {
                switch bound {
                case .number(let n): return n
                case .star: return largest == 0 ? nil : largest
                }
            }
            guard let a = value(range.first), let b = value(range.last) else { return nil }
            return min(a, b)...max(a, b)
        }
    }

    func contains(_ value: UInt32, largest: UInt32) -> Bool {
        resolved(largest: largest).contains { $0.contains(value) }
    }

    /// The highest explicit number, for "no such message" checks of sequence numbers.
    var highestNumber: UInt32 {
        ranges.reduce(0) { result, range in
            var high = result
            if case .number(let n) = range.first { high = max(high, n) }
            if case .number(let n) = range.last { high = max(high, n) }
            return high
        }
    }

    /// Compact text of ascending values (`1:3,5`), as COPYUID and SEARCH use it.
    static func text(_ values: [UInt32]) -> String {
        var parts: [String] = []
        var index = 0
        while index < values.count {
            var end = index
            while end + 1 < values.count, values[end + 1] == values[end] &+ 1, values[end] != UInt32.max {
                end += 1
            }
            parts.append(end == index ? "\(values[index])" : "\(values[index]):\(values[end])")
            index = end + 1
        }
        return parts.joined(separator: ",")
    }
}
