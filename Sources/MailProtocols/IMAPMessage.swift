import Foundation

/// One header field of a message or MIME part: its name and its raw bytes (folding
/// kept, line end included), plus the unfolded value.
struct IMAPHeaderField {
    var name: String
    var raw: Range<Int>
    var value: [UInt8]
}

/// One MIME entity (RFC 2045/2046) inside a message: where its header and body are,
/// its parsed Content-* fields and its sub-parts. Ranges index the message bytes.
struct IMAPMimePart {
    /// Header lines including the blank line that ends them.
    var header: Range<Int>
    var body: Range<Int>
    var fields: [IMAPHeaderField]
    var type = "TEXT"
    var subtype = "PLAIN"
    /// Parameters in order, names upper-cased.
    var parameters: [(String, String)] = []
    var encoding = "7BIT"
    var id: [UInt8]?
    var description: [UInt8]?
    var disposition: (String, [(String, String)])?
    var language: [UInt8]?
    var location: [UInt8]?
    /// Sub-parts of a multipart entity.
    var parts: [IMAPMimePart] = []
    /// The message inside a message/rfc822 entity.
    var encapsulated: [IMAPMimePart] = []

    var isMultipart: Bool { type == "MULTIPART" }
    var isMessage: Bool { type == "MESSAGE" && (subtype == "RFC822" || subtype == "GLOBAL") }

    func field(_ name: String) -> IMAPHeaderField? {
        fields.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }
    }

    /// The parts that `BODY[n]` numbers below this one (RFC 3501 section 6.4.5).
    var numberedChildren: [IMAPMimePart] {
        if isMultipart { return parts }
        if let message = encapsulated.first { return message.isMultipart ? message.parts : [message] }
        return []
    }
}

/// A whole message parsed once for FETCH and SEARCH: header fields, the MIME tree and
/// section lookup. Works on the CRLF bytes the store hands out; tolerates bare LF and
/// broken structure (never traps), nesting bounded by `maxDepth`.
struct IMAPMessage {
    static let maxDepth = 24

    let bytes: [UInt8]
    let root: IMAPMimePart

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
        root = Self.parsePart(bytes, 0..<bytes.count, depth: 0, defaultType: ("TEXT", "PLAIN"))
    }

    // MARK: Parsing

    static func parsePart(_ bytes: [UInt8], _ range: Range<Int>, depth: Int,
                          defaultType: (String, String)) -> IMAPMimePart {
        let (header, fields) = parseHeader(bytes, range)
        var part = IMAPMimePart(header: header, body: header.upperBound..<range.upperBound, fields: fields)
        (part.type, part.subtype) = defaultType
        if let contentType = part.field("Content-Type") {
            let parsed = IMAPMimeValue.parse(contentType.value)
            let pieces = parsed.value.split(separator: "/", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if pieces.count == 2, !pieces[0].isEmpty, !pieces[1].isEmpty {
                part.type = pieces[0].uppercased()
                part.subtype = pieces[1].uppercased()
                part.parameters = parsed.parameters
            }
        }
        if part.type == "TEXT", !part.parameters.contains(where: { $0.0 == "CHARSET" }) {
            part.parameters.insert(("CHARSET", "US-ASCII"), at: 0)
        }
        if let encoding = part.field("Content-Transfer-Encoding") {
            let value = IMAPMimeValue.parse(encoding.value).value.trimmingCharacters(in: .whitespaces)
            if !value.isEmpty { part.encoding = value.uppercased() }
        }
        part.id = part.field("Content-ID").map { trimmed($0.value) }
        part.description = part.field("Content-Description").map { trimmed($0.value) }
        part.language = part.field("Content-Language").map { trimmed($0.value) }
        part.location = part.field("Content-Location").map { trimmed($0.value) }
        if let disposition = part.field("Content-Disposition") {
            let parsed = IMAPMimeValue.parse(disposition.value)
            let kind = parsed.value.trimmingCharacters(in: .whitespaces)
            if !kind.isEmpty { part.disposition = (kind.uppercased(), parsed.parameters) }
        }
        if part.isMultipart {
            let boundary = part.parameters.first { $0.0 == "BOUNDARY" }?.1 ?? ""
            let childType = part.subtype == "DIGEST" ? ("MESSAGE", "RFC822") : ("TEXT", "PLAIN")
            let ranges = boundary.isEmpty || depth >= maxDepth
                ? [] : splitMultipart(bytes, part.body, boundary: Array(boundary.utf8))
            part.parts = ranges.map { parsePart(bytes, $0, depth: depth + 1, defaultType: childType) }
            if part.parts.isEmpty {
                // A multipart without parts still needs one body in BODYSTRUCTURE.
                let end = part.body.upperBound
                part.parts = [IMAPMimePart(header: end..<end, body: end..<end, fields: [],
                                           parameters: [("CHARSET", "US-ASCII")])]
            }
        } else if part.isMessage {
            if depth < maxDepth {
                part.encapsulated = [parsePart(bytes, part.body, depth: depth + 1, defaultType: ("TEXT", "PLAIN"))]
            } else {
                // Too deep to describe: an opaque part keeps BODYSTRUCTURE well-formed.
                (part.type, part.subtype) = ("APPLICATION", "OCTET-STREAM")
            }
        }
        return part
    }

    static func trimmed(_ value: [UInt8]) -> [UInt8] {
        var slice = value[...]
        while let first = slice.first, first == 0x20 || first == 0x09 { slice = slice.dropFirst() }
        while let last = slice.last, last == 0x20 || last == 0x09 { slice = slice.dropLast() }
        return Array(slice)
    }

    /// The header of an entity starting at `range.lowerBound`: up to and including the
    /// first empty line (or all of it when there is none), and its fields unfolded.
    static func parseHeader(_ bytes: [UInt8], _ range: Range<Int>) -> (Range<Int>, [IMAPHeaderField]) {
        var fields: [IMAPHeaderField] = []
        var index = range.lowerBound
        var end = range.upperBound
        while index < range.upperBound {
            var lineEnd = index
            while lineEnd < range.upperBound, bytes[lineEnd] != 0x0A { lineEnd += 1 }
            let next = min(lineEnd + 1, range.upperBound)
            let content = lineEnd > index && bytes[lineEnd - 1] == 0x0D ? index..<(lineEnd - 1) : index..<lineEnd
            if content.isEmpty {
                end = next
                break
            }
            let first = bytes[index]
            if (first == 0x20 || first == 0x09), !fields.isEmpty {
                fields[fields.count - 1].raw = fields[fields.count - 1].raw.lowerBound..<next
                fields[fields.count - 1].value.append(contentsOf: bytes[content])
            } else if let colon = bytes[content].firstIndex(of: 0x3A), colon > index {
                let name = String(decoding: bytes[index..<colon], as: UTF8.self).trimmingCharacters(in: .whitespaces)
                fields.append(IMAPHeaderField(name: name, raw: index..<next, value: Array(bytes[(colon + 1)..<content.upperBound])))
            }
            index = next
        }
        return (range.lowerBound..<max(range.lowerBound, min(end, range.upperBound)), fields)
    }

    /// The body ranges between `--boundary` delimiter lines; the line end before a
    /// delimiter belongs to the delimiter. Preamble and epilogue are dropped.
    static func splitMultipart(_ bytes: [UInt8], _ range: Range<Int>, boundary: [UInt8]) -> [Range<Int>] {
        var parts: [Range<Int>] = []
        var partStart: Int?
        var index = range.lowerBound
        while index < range.upperBound {
            var lineEnd = index
            while lineEnd < range.upperBound, bytes[lineEnd] != 0x0A { lineEnd += 1 }
            let next = min(lineEnd + 1, range.upperBound)
            if let kind = delimiter(bytes, index..<lineEnd, boundary: boundary) {
                if let start = partStart {
                    var end = index
                    if end > start, bytes[end - 1] == 0x0A { end -= 1 }
                    if end > start, bytes[end - 1] == 0x0D { end -= 1 }
                    parts.append(start..<max(start, end))
                }
                if kind == .close { return parts }
                partStart = next
            }
            index = next
        }
        if let start = partStart, start < range.upperBound { parts.append(start..<range.upperBound) }
        return parts
    }

    private enum Delimiter { case open, close }

    private static func delimiter(_ bytes: [UInt8], _ line: Range<Int>, boundary: [UInt8]) -> Delimiter? {
        guard line.count >= boundary.count + 2, bytes[line.lowerBound] == 0x2D, bytes[line.lowerBound + 1] == 0x2D,
              bytes[(line.lowerBound + 2)..<(line.lowerBound + 2 + boundary.count)].elementsEqual(boundary) else { return nil }
        var rest = bytes[(line.lowerBound + 2 + boundary.count)..<line.upperBound]
        var kind = Delimiter.open
        if rest.starts(with: [0x2D, 0x2D]) {
            kind = .close
            rest = rest.dropFirst(2)
        }
        guard rest.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) else { return nil }
        return kind
    }

    // MARK: Sections

    var header: ArraySlice<UInt8> { bytes[root.header] }
    var text: ArraySlice<UInt8> { bytes[root.body] }

    /// The part `path` names (`[1, 2]` for BODY[1.2]); nil when there is none.
    func part(_ path: [Int]) -> IMAPMimePart? {
        var candidates = root.isMultipart ? root.parts : [root]
        var found: IMAPMimePart?
        for number in path {
            guard number >= 1, number <= candidates.count else { return nil }
            let part = candidates[number - 1]
            found = part
            candidates = part.numberedChildren
        }
        return found
    }

    /// The header fields of `fields`' entity whose names are (or, with `not`, are
    /// not) in `names`, followed by the blank line.
    func headerFields(of entity: IMAPMimePart, names: [String], not: Bool) -> [UInt8] {
        let wanted = Set(names.map { $0.uppercased() })
        var result: [UInt8] = []
        for field in entity.fields where wanted.contains(field.name.uppercased()) != not {
            result.append(contentsOf: bytes[field.raw])
            if result.last != 0x0A { result.append(contentsOf: [0x0D, 0x0A]) }
        }
        result.append(contentsOf: [0x0D, 0x0A])
        return result
    }

    /// Unfolded value of a header field of the message, nil when absent.
    func headerValue(_ name: String) -> [UInt8]? {
        root.field(name).map { Self.unfolded($0.value) }
    }

    /// All values of a header field (To may appear more than once).
    func headerValues(_ name: String) -> [[UInt8]] {
        root.fields.filter { $0.name.caseInsensitiveCompare(name) == .orderedSame }.map { Self.unfolded($0.value) }
    }

    /// Removes the CR and LF of folded lines and the leading blank.
    static func unfolded(_ value: [UInt8]) -> [UInt8] {
        trimmed(value.filter { $0 != 0x0D && $0 != 0x0A })
    }

    static func lineCount(_ slice: ArraySlice<UInt8>) -> Int {
        var count = 0
        for byte in slice where byte == 0x0A { count += 1 }
        if let last = slice.last, last != 0x0A { count += 1 }
        return count
    }
}
