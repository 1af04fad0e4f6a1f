import Foundation
import Logging
import MailProtocols
import Synchronization

/// swift-log handler for the server: one line per event on standard error,
/// `<UTC time> <level> <label>: key=value ... [<source>] <message>`, written with a
/// single write(2) so lines from different worker threads never interleave.
/// Cheaper than StreamLogHandler on the per-connection path (no dynamic casts, no
/// locale-aware formatting), which matters at thousands of handshakes a second.
public struct MailEdgeLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    public let label: String

    public init(label: String, level: Logger.Level) {
        self.label = label
        logLevel = level
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        MailEdgeLogHandler.writeOut(line(for: event))
    }

    /// The whole line for `event`, newline included.
    func line(for event: LogEvent) -> [UInt8] {
        // Handler metadata, overridden by the event's; sorted by key for stable lines.
        var pairs: [(key: String, value: Logger.Metadata.Value)] = []
        pairs.reserveCapacity(metadata.count + (event.metadata?.count ?? 0))
        for (key, value) in metadata where event.metadata?[key] == nil { pairs.append((key, value)) }
        if let extra = event.metadata { for (key, value) in extra { pairs.append((key, value)) } }
        pairs.sort { $0.key < $1.key }
        var line = Line(level: event.level, label: label)
        for (key, value) in pairs {
            if case .string(let string) = value {
                line.append(key, string)
            } else {
                line.append(key, Self.text(value))
            }
        }
        return line.end(source: event.source, message: event.message.description)
    }

    /// What the fast path needs to write lines in this handler's format itself: the
    /// label, level and handler metadata, sorted. Nil when `logger` does not log
    /// through a MailEdgeLogHandler (then the caller goes through `Logger`).
    struct LineFormat {
        let label: String
        let level: Logger.Level
        let context: [(key: [UInt8], value: String)]

        init?(_ logger: Logger) {
            guard let handler = logger.handler as? MailEdgeLogHandler else { return nil }
            label = handler.label
            level = handler.logLevel
            context = handler.metadata.sorted { $0.key < $1.key }.map { (Array($0.key.utf8), MailEdgeLogHandler.text($0.value)) }
        }

        /// The frame of a line whose keys are fixed and sorted (`keys`), for a fast
        /// path that writes many such lines: what this format puts between the values.
        func fixedLine(level: Logger.Level, keys: [StaticString], source: String, message: String) -> FixedLine {
            assert(zip(keys, keys.dropFirst()).allSatisfy { "\($0)" < "\($1)" }, "keys must be sorted")
            var rest = context[...]
            var separators: [[UInt8]] = []
            var pending: [UInt8] = []
            for key in keys {
                let key = key.withUTF8Buffer { Array($0) }
                // Handler metadata sorting first goes before; of the same name, the field wins.
                while let (contextKey, value) = rest.first, !key.lexicographicallyPrecedes(contextKey) {
                    rest.removeFirst()
                    if key != contextKey { pending.appendField(contextKey, value) }
                }
                pending.append(0x20)
                pending.append(contentsOf: key)
                pending.append(0x3D)
                separators.append(pending)
                pending = []
            }
            for (key, value) in rest { pending.appendField(key, value) }
            pending.appendLineEnd(source: source, message: message)
            var head: [UInt8] = []
            head.appendLineHead(level: level, label: label)
            return FixedLine(head: head, separators: separators, tail: pending)
        }
    }

    /// A line with fixed keys, made by `LineFormat.fixedLine`: the writer appends the
    /// timestamp, `head`, then each separator followed by its value, then `tail`.
    struct FixedLine {
        /// The level and label, after the timestamp.
        let head: [UInt8]
        /// What comes before each value: ` key=`, after any handler metadata that sorts before it.
        let separators: [[UInt8]]
        /// Handler metadata sorting after the last key, the source, the message and the newline.
        let tail: [UInt8]
    }

    /// A line in this handler's format, built as bytes, not String appends (String.append
    /// cost ~350 instructions a piece, callgrind).
    struct Line {
        /// The line so far; after `write`, the whole line.
        private(set) var bytes: [UInt8] = []

        init(level: Logger.Level, label: String) {
            bytes.reserveCapacity(512)
            bytes.appendUTF8(MailEdgeLogHandler.timestamp())
            bytes.appendLineHead(level: level, label: label)
        }

        /// Fields must come in ascending key order.
        mutating func append(_ key: String, _ value: String) {
            bytes.appendField(key.utf8, value)
        }

        /// Ends the line (the source, the message and the newline) and returns it,
        /// to be written with one write(2) so lines from different worker threads
        /// never interleave.
        mutating func end(source: String, message: String) -> [UInt8] {
            bytes.appendLineEnd(source: source, message: message)
            return bytes
        }
    }

    /// Whole lines to standard error: one write(2) for a line or a batch of lines,
    /// continued if the kernel takes only part (a pipe to journald may).
    static func writeOut(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = Glibc.write(2, buffer.baseAddress! + offset, buffer.count - offset)
                if written > 0 {
                    offset += written
                } else if written < 0 && errno == EINTR {
                    continue
                } else {
                    return   // nowhere to log to: the lines are dropped, serving goes on
                }
            }
        }
    }

    static func text(_ value: Logger.Metadata.Value) -> String {
        switch value {
        case .string(let string): return string
        case .stringConvertible(let convertible): return convertible.description
        case .array(let values): return "[" + values.map(text).joined(separator: ", ") + "]"
        case .dictionary(let entries): return "[" + entries.keys.sorted().map { "\($0): \(text(entries[$0]!))" }.joined(separator: ", ") + "]"
        }
    }

    /// 2026-11-29T05:43:55Z; formatted once per second, shared by all threads.
    static func timestamp() -> String {
        let now = time(nil)
        if let cached = cache.withLock({ $0.second == now ? $0.text : nil }) { return cached }
        let text = format(now)
        cache.withLock { $0 = (now, text) }
        return text
    }

    private static let cache = Mutex<(second: time_t, text: String)>((0, ""))

    static func format(_ second: time_t) -> String {
        var now = second
        var parts = tm()
        gmtime_r(&now, &parts)
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))Z"
    }
}

/// The pieces of a log line, appended as bytes.
extension Array where Element == UInt8 {
    /// ` <level> <label>:`, after the timestamp.
    mutating func appendLineHead(level: Logger.Level, label: String) {
        append(0x20)
        appendUTF8(level.rawValue)
        append(0x20)
        appendUTF8(label)
        append(0x3A)
    }

    /// ` [<source>] <message>` and the newline, after the fields.
    mutating func appendLineEnd(source: String, message: String) {
        append(0x20)
        append(0x5B)
        appendUTF8(source)
        append(0x5D)
        append(0x20)
        appendUTF8(message)
        append(0x0A)
    }

    /// ` key=value`, the one shape of every field.
    mutating func appendField(_ key: some Sequence<UInt8>, _ value: String) {
        append(0x20)
        append(contentsOf: key)
        append(0x3D)
        appendUTF8(value)
    }

    mutating func appendCString(_ value: UnsafePointer<CChar>) {
        let count = strlen(value)
        value.withMemoryRebound(to: UInt8.self, capacity: count) { start in
            append(contentsOf: UnsafeBufferPointer(start: start, count: count))
        }
    }

    mutating func appendDecimal(_ value: Int) {
        if value < 0 { append(0x2D) }
        appendDigits(of: value.magnitude, radix: 10)
    }

    mutating func appendDigits(of value: UInt, radix: UInt) {
        var count = 1
        var rest = value / radix
        while rest > 0 { count += 1; rest /= radix }
        let end = self.count + count
        append(contentsOf: repeatElement(0x30, count: count))
        rest = value
        var index = end
        while rest > 0 {
            index -= 1
            let digit = UInt8(rest % radix)
            self[index] = digit < 10 ? 0x30 + digit : 0x57 + digit
            rest /= radix
        }
    }
}
