import Foundation
import Logging
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
        // Handler metadata, overridden by the event's; sorted by key for stable lines.
        var pairs: [(key: String, value: Logger.Metadata.Value)] = []
        pairs.reserveCapacity(metadata.count + (event.metadata?.count ?? 0))
        for (key, value) in metadata where event.metadata?[key] == nil { pairs.append((key, value)) }
        if let extra = event.metadata { for (key, value) in extra { pairs.append((key, value)) } }
        pairs.sort { $0.key < $1.key }
        // Bytes, not String appends: a connection's line has ~60 pieces, and
        // String.append cost ~350 instructions each (callgrind).
        var line: [UInt8] = []
        line.reserveCapacity(512)
        line.append(contentsOf: Self.timestamp().utf8)
        line.append(0x20)
        line.append(contentsOf: event.level.rawValue.utf8)
        line.append(0x20)
        line.append(contentsOf: label.utf8)
        line.append(0x3A)
        for (key, value) in pairs {
            line.append(0x20)
            line.append(contentsOf: key.utf8)
            line.append(0x3D)
            if case .string(let string) = value {
                line.append(contentsOf: string.utf8)
            } else {
                line.append(contentsOf: Self.text(value).utf8)
            }
        }
        line.append(contentsOf: " [".utf8)
        line.append(contentsOf: event.source.utf8)
        line.append(contentsOf: "] ".utf8)
        line.append(contentsOf: event.message.description.utf8)
        line.append(0x0A)
        line.withUnsafeBytes { bytes in _ = Glibc.write(2, bytes.baseAddress, bytes.count) }
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
