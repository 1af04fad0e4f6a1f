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
