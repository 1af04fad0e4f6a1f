import Foundation

/// Unprocessed input of one protocol session (SMTP, IMAP, POP3): bytes received but
/// not yet consumed as a command or message data. Owned by its session; a read index
/// avoids shifting the array for every line.
struct SessionInputBuffer {
    private(set) var bytes: [UInt8] = []
    var readIndex: Int = 0

    var unreadCount: Int { bytes.count - readIndex }
    var isEmpty: Bool { readIndex >= bytes.count }

    mutating func append<C: Collection>(_ data: C) where C.Element == UInt8 {
        bytes.append(contentsOf: data)
    }

    /// Marks everything up to (not including) `index` as consumed.
    mutating func consume(upTo index: Int) {
        readIndex = min(max(index, readIndex), bytes.count)
    }

    mutating func discardAll() {
        bytes.removeAll(keepingCapacity: false)
        readIndex = 0
    }

    /// Drops consumed bytes so the buffer never grows with the session's history.
    mutating func compact() {
        if readIndex >= bytes.count {
            bytes.removeAll(keepingCapacity: bytes.count <= 65_536)
            readIndex = 0
        } else if readIndex > 0 {
            bytes.removeSubrange(0..<readIndex)
            readIndex = 0
        }
    }
}

/// Reply bytes of the protocol sessions.
enum SessionOutput {
    static let crlf: [UInt8] = [0x0D, 0x0A]

    /// `line` and CRLF in one array sized once (no joined String in between).
    static func line(_ line: String) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(line.utf8.count + 2)
        bytes.appendUTF8(line)
        bytes.append(contentsOf: crlf)
        return bytes
    }
}

extension Array where Element == UInt8 {
    /// Appends a string's UTF-8 through its contiguous storage: one copy, where
    /// `append(contentsOf: string.utf8)` went through the generic Sequence path
    /// (200-500 instructions per call under callgrind, for a reply's few words).
    public mutating func appendUTF8(_ string: String) {
        var string = string
        string.withUTF8 { append(contentsOf: $0) }
    }
}
