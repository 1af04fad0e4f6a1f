import Foundation

/// What one message looks like to a SEARCH key: its number, summary and, when a key
/// needs it, the parsed message.
struct IMAPSearchCandidate {
    var sequence: UInt32
    var messageCount: UInt32
    var highestUID: UInt32
    var summary: MessageSummary
    var recent: Bool
    var message: IMAPMessage?
}

/// A SEARCH criterion tree (RFC 3501 section 6.4.4). Strings match as case-insensitive
/// (ASCII) substrings of the raw, undecoded bytes; dates are UTC days.
indirect enum IMAPSearchKey: Equatable, Sendable {
    case all
    case flag(MessageFlags, set: Bool)
    case new, old, recent
    /// KEYWORD (never matches: no keywords are stored) / UNKEYWORD (always).
    case keyword(set: Bool)
    case header(String, [UInt8])
    case body([UInt8])
    case text([UInt8])
    case since(Int), before(Int), on(Int)
    case sentSince(Int), sentBefore(Int), sentOn(Int)
    case larger(Int), smaller(Int)
    case uid(IMAPSequenceSet)
    case sequence(IMAPSequenceSet)
    case not(IMAPSearchKey)
    case or(IMAPSearchKey, IMAPSearchKey)
    case and([IMAPSearchKey])

    static let maxDepth = 64

    // MARK: Parsing

    /// All keys up to the end of the command, ANDed.
    static func parseProgram(_ parser: inout IMAPParser) throws -> IMAPSearchKey {
        var keys: [IMAPSearchKey] = []
        repeat {
            keys.append(try parse(&parser, depth: 0))
        } while parser.skipSpace() && !parser.atEnd
        try parser.end()
        return keys.count == 1 ? keys[0] : .and(keys)
    }

    static func parse(_ parser: inout IMAPParser, depth: Int) throws -> IMAPSearchKey {
        guard depth < maxDepth else { throw IMAPParseError("search criteria nested too deeply") }
        if parser.next == 0x28 {
            try parser.expect(0x28, "(")
            var keys: [IMAPSearchKey] = []
            while parser.next != 0x29 {
                if !keys.isEmpty { try parser.space() }
                keys.append(try parse(&parser, depth: depth + 1))
            }
            try parser.expect(0x29, ")")
            guard !keys.isEmpty else { throw IMAPParseError("empty search group") }
            return keys.count == 1 ? keys[0] : .and(keys)
        }
        if let byte = parser.next, (0x30...0x39).contains(byte) || byte == 0x2A {
            return .sequence(try parser.sequenceSet())
        }
        let word = try parser.keyword()
        func argument() throws -> [UInt8] {
            try parser.space()
            return try parser.astring()
        }
        func date() throws -> Int {
            try parser.space()
            return try parser.searchDate()
        }
        func size() throws -> Int {
            try parser.space()
            return try parser.number()
        }
        switch word {
        case "ALL": return .all
        case "ANSWERED": return .flag(.answered, set: true)
        case "UNANSWERED": return .flag(.answered, set: false)
        case "DELETED": return .flag(.deleted, set: true)
        case "UNDELETED": return .flag(.deleted, set: false)
        case "DRAFT": return .flag(.draft, set: true)
        case "UNDRAFT": return .flag(.draft, set: false)
        case "FLAGGED": return .flag(.flagged, set: true)
        case "UNFLAGGED": return .flag(.flagged, set: false)
        case "SEEN": return .flag(.seen, set: true)
        case "UNSEEN": return .flag(.seen, set: false)
        case "NEW": return .new
        case "OLD": return .old
        case "RECENT": return .recent
        case "KEYWORD", "UNKEYWORD":
            try parser.space()
            _ = try parser.atom()
            return .keyword(set: word == "UNKEYWORD")
        case "FROM", "TO", "CC", "BCC", "SUBJECT":
            return .header(word, try argument())
        case "HEADER":
            try parser.space()
            let name = try parser.astringText()
            return .header(name, try argument())
        case "BODY": return .body(try argument())
        case "TEXT": return .text(try argument())
        case "SINCE": return .since(try date())
        case "BEFORE": return .before(try date())
        case "ON": return .on(try date())
        case "SENTSINCE": return .sentSince(try date())
        case "SENTBEFORE": return .sentBefore(try date())
        case "SENTON": return .sentOn(try date())
        case "LARGER": return .larger(try size())
        case "SMALLER": return .smaller(try size())
        case "UID":
            try parser.space()
            return .uid(try parser.sequenceSet())
        case "NOT":
            try parser.space()
            return .not(try parse(&parser, depth: depth + 1))
        case "OR":
            try parser.space()
            let first = try parse(&parser, depth: depth + 1)
            try parser.space()
            return .or(first, try parse(&parser, depth: depth + 1))
        default:
            throw IMAPParseError("unknown search key")
        }
    }

    // MARK: Evaluation

    /// True when some key needs the message bytes (headers or body).
    var needsMessage: Bool {
        switch self {
        case .header, .body, .text, .sentSince, .sentBefore, .sentOn: return true
        case .not(let key): return key.needsMessage
        case .or(let a, let b): return a.needsMessage || b.needsMessage
        case .and(let keys): return keys.contains { $0.needsMessage }
        default: return false
        }
    }

    func matches(_ candidate: IMAPSearchCandidate) -> Bool {
        let summary = candidate.summary
        switch self {
        case .all: return true
        case .flag(let flag, let set): return summary.flags.contains(flag) == set
        case .new: return candidate.recent && !summary.flags.contains(.seen)
        case .old: return !candidate.recent
        case .recent: return candidate.recent
        case .keyword(let set): return set
        case .header(let name, let value):
            guard let message = candidate.message else { return false }
            return message.headerValues(name).contains { Self.contains($0[...], value) }
        case .body(let value):
            guard let message = candidate.message else { return false }
            return Self.contains(message.text, value)
        case .text(let value):
            guard let message = candidate.message else { return false }
            return Self.contains(message.bytes[...], value)
        case .since(let day): return IMAPDateFormat.day(of: summary.internalDate) >= day
        case .before(let day): return IMAPDateFormat.day(of: summary.internalDate) < day
        case .on(let day): return IMAPDateFormat.day(of: summary.internalDate) == day
        case .sentSince(let day): return sentDay(candidate).map { $0 >= day } ?? false
        case .sentBefore(let day): return sentDay(candidate).map { $0 < day } ?? false
        case .sentOn(let day): return sentDay(candidate) == day
        case .larger(let size): return summary.size > size
        case .smaller(let size): return summary.size < size
        case .uid(let set): return set.contains(summary.uid, largest: candidate.highestUID)
        case .sequence(let set): return set.contains(candidate.sequence, largest: candidate.messageCount)
        case .not(let key): return !key.matches(candidate)
        case .or(let a, let b): return a.matches(candidate) || b.matches(candidate)
        case .and(let keys): return keys.allSatisfy { $0.matches(candidate) }
        }
    }

    private func sentDay(_ candidate: IMAPSearchCandidate) -> Int? {
        guard let value = candidate.message?.headerValue("Date") else { return nil }
        return IMAPDateFormat.sentDay(String(decoding: value, as: UTF8.self))
    }

    /// Case-insensitive (ASCII) substring test on raw bytes.
    static func contains(_ haystack: ArraySlice<UInt8>, _ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty else { return true }
        guard haystack.count >= needle.count else { return false }
        let lowered = needle.map(lower)
        let first = lowered[0]
        var index = haystack.startIndex
        let last = haystack.endIndex - needle.count
        while index <= last {
            if lower(haystack[index]) == first {
                var offset = 1
                while offset < lowered.count, lower(haystack[index + offset]) == lowered[offset] { offset += 1 }
                if offset == lowered.count { return true }
            }
            index += 1
        }
        return false
    }

    private static func lower(_ byte: UInt8) -> UInt8 {
        (0x41...0x5A).contains(byte) ? byte | 0x20 : byte
    }
}
