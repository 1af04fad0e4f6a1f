import Foundation

/// Cuts complete IMAP commands (RFC 3501 section 2.2) out of an `SessionInputBuffer`:
/// a command is one or more lines joined by literals (`{n}` synchronising, `{n+}`
/// LITERAL+). The framed command keeps the literal announcements and data in place,
/// so `IMAPParser` reads it as one byte string.
///
/// Every byte the framer holds is bounded: command text by the line limit, each
/// literal by the literal limit (APPEND) or the line limit (anything else). An
/// over-long line is dropped up to its end without being buffered; a rejected
/// non-synchronising literal is skipped by counting, never stored.
struct IMAPCommandFramer {
    enum Event: Equatable {
        /// A complete command, the final CRLF removed.
        case command([UInt8])
        /// A synchronising literal was announced: the session sends `+ ...`.
        case continuationNeeded
        /// The command text was longer than the line limit; dropped.
        case lineTooLong
        /// A literal above its limit; the command is dropped (for `{n+}` the literal
        /// bytes are skipped). `tag` when the first line had one.
        case literalTooLarge(tag: String?, append: Bool)
    }

    enum Line: Equatable {
        case line([UInt8])
        case tooLong
    }

    private var command: [UInt8] = []
    private var textLength = 0
    private var literalTotal = 0
    private var literalRemaining = 0
    private var skipRemaining = 0
    /// Dropping input up to the next line end; `reportTooLong` says whether that end
    /// is reported as `.lineTooLong` (a rejected literal was already reported).
    private var discarding = false
    private var reportTooLong = false
    /// The last bytes of a line being dropped, to spot a literal announcement at its end.
    private var discardTail: [UInt8] = []
    private var scanned = 0

    /// True while part of a command has been read (the session is not between commands).
    var isInsideCommand: Bool {
        !command.isEmpty || literalRemaining > 0 || skipRemaining > 0 || discarding
    }

    mutating func reset() {
        self = IMAPCommandFramer()
    }

    /// The next framing event, or nil when more input is needed.
    mutating func nextEvent(in buffer: inout SessionInputBuffer, lineLimit: Int,
                            appendLiteralLimit: Int) -> Event? {
        while true {
            if skipRemaining > 0 {
                let take = min(skipRemaining, buffer.unreadCount)
                buffer.consume(upTo: buffer.readIndex + take)
                skipRemaining -= take
                if skipRemaining > 0 { return nil }
                discarding = true
                discardTail = []
                continue
            }
            if literalRemaining > 0 {
                let take = min(literalRemaining, buffer.unreadCount)
                if take == 0 { return nil }
                command.append(contentsOf: buffer.bytes[buffer.readIndex..<(buffer.readIndex + take)])
                buffer.consume(upTo: buffer.readIndex + take)
                literalRemaining -= take
                if literalRemaining > 0 { return nil }
                continue
            }
            let bytes = buffer.bytes
            let start = buffer.readIndex
            var index = start + scanned
            while index < bytes.count, bytes[index] != 0x0A { index += 1 }
            guard index < bytes.count else {
                let pending = bytes.count - start
                if discarding {
                    keepTail(bytes[start...])
                    buffer.consume(upTo: bytes.count)
                    scanned = 0
                } else if textLength + pending > lineLimit {
                    discarding = true
                    reportTooLong = true
                    discardTail = []
                    keepTail(bytes[start...])
                    buffer.consume(upTo: bytes.count)
                    scanned = 0
                } else {
                    scanned = pending
                }
                return nil
            }
            scanned = 0
            let line = bytes[start...index]
            buffer.consume(upTo: index + 1)
            if discarding {
                keepTail(line)
                if let (count, sync) = Self.literalAnnouncement(discardTail), !sync {
                    skipRemaining = count
                    discarding = false
                    continue
                }
                let report = reportTooLong
                abandonCommand()
                if report { return .lineTooLong }
                continue
            }
            if textLength + line.count > lineLimit {
                discardTail = []
                keepTail(line)
                if let (count, sync) = Self.literalAnnouncement(discardTail), !sync {
                    abandonCommand()
                    skipRemaining = count
                } else {
                    abandonCommand()
                }
                return .lineTooLong
            }
            command.append(contentsOf: line)
            textLength += line.count
            guard let (count, sync) = Self.literalAnnouncement(line) else {
                var end = command.count - 1
                if end > 0, command[end - 1] == 0x0D { end -= 1 }
                let complete = Array(command[0..<end])
                abandonCommand()
                return .command(complete)
            }
            let (tag, isAppend) = Self.tagAndAppend(command)
            let limit = isAppend ? appendLiteralLimit : lineLimit
            if count > limit - literalTotal {
                abandonCommand()
                if !sync {
                    skipRemaining = count
                    reportTooLong = false
                }
                return .literalTooLarge(tag: tag, append: isAppend)
            }
            literalTotal += count
            literalRemaining = count
            if sync { return .continuationNeeded }
        }
    }

    /// The next plain line (IDLE's DONE, a SASL response), no literals.
    mutating func nextLine(in buffer: inout SessionInputBuffer, limit: Int) -> Line? {
        let bytes = buffer.bytes
        let start = buffer.readIndex
        var index = start + scanned
        while index < bytes.count, bytes[index] != 0x0A { index += 1 }
        guard index < bytes.count else {
            if discarding || bytes.count - start > limit {
                discarding = true
                buffer.consume(upTo: bytes.count)
                scanned = 0
            } else {
                scanned = bytes.count - start
            }
            return nil
        }
        scanned = 0
        buffer.consume(upTo: index + 1)
        if discarding || index + 1 - start > limit {
            discarding = false
            return .tooLong
        }
        var end = index
        if end > start, bytes[end - 1] == 0x0D { end -= 1 }
        return .line(Array(bytes[start..<end]))
    }

    private mutating func abandonCommand() {
        command = []
        textLength = 0
        literalTotal = 0
        literalRemaining = 0
        discarding = false
        reportTooLong = false
        discardTail = []
    }

    private mutating func keepTail(_ bytes: ArraySlice<UInt8>) {
        discardTail.append(contentsOf: bytes.suffix(32))
        if discardTail.count > 32 { discardTail.removeFirst(discardTail.count - 32) }
    }

    /// `{123}` or `{123+}` right before the line end: the size (capped) and whether
    /// the client waits for a continuation.
    static func literalAnnouncement<C: BidirectionalCollection>(_ line: C) -> (Int, sync: Bool)?
    where C.Element == UInt8 {
        var bytes = Array(line.suffix(24))
        if bytes.last == 0x0A { bytes.removeLast() }
        if bytes.last == 0x0D { bytes.removeLast() }
        guard bytes.last == 0x7D else { return nil }  // "}"
        bytes.removeLast()
        var sync = true
        if bytes.last == 0x2B { sync = false; bytes.removeLast() }  // "+"
        var digits: [UInt8] = []
        while let last = bytes.last, (0x30...0x39).contains(last) {
            digits.insert(last, at: 0)
            bytes.removeLast()
        }
        guard !digits.isEmpty, bytes.last == 0x7B else { return nil }  // "{"
        if digits.count > 15 { return (Int(Int32.max) * 1024, sync) }
        let value = digits.reduce(0) { $0 * 10 + Int($1 - 0x30) }
        return (value, sync)
    }

    /// The tag of a command's first line and whether its verb is APPEND.
    static func tagAndAppend(_ command: [UInt8]) -> (String?, Bool) {
        let words = command.prefix(256).split(separator: 0x20, maxSplits: 2, omittingEmptySubsequences: false)
        guard let first = words.first, !first.isEmpty,
              first.allSatisfy({ IMAPParser.isTagChar($0) }) else { return (nil, false) }
        let tag = String(decoding: first, as: UTF8.self)
        guard words.count > 1 else { return (tag, false) }
        let verb = String(decoding: words[1], as: UTF8.self).uppercased()
        return (tag, verb == "APPEND")
    }
}
