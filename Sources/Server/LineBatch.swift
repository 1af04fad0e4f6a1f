/// A worker's "connection closed" lines, written with one write(2) per loop turn:
/// the lines of all connections that closed while the loop handled one batch of
/// ready sockets go out together when that batch is done (the worker's end-of-turn
/// event, not a timer), so a line is never held past the turn that produced it.
/// nginx's `access_log ... buffer=` does the same with a size and a time limit;
/// here the turn is the limit, and 64 KiB.
final class LineBatch {
    private var bytes: [UInt8] = []
    static let limit = 65_536

    /// `body` appends whole lines to the batch in place (no line buffer of its own).
    func write(_ body: (inout [UInt8]) -> Void) {
        if bytes.isEmpty { bytes.reserveCapacity(4096) }
        body(&bytes)
        if bytes.count >= Self.limit { flush() }
    }

    /// Writes what is waiting; also called when the worker stops.
    func flush() {
        guard !bytes.isEmpty else { return }
        MailEdgeLogHandler.writeOut(bytes)
        bytes.removeAll(keepingCapacity: bytes.capacity <= Self.limit)
    }
}
