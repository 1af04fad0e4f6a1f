import Foundation

/// Reads the message after `354`: finds the end-of-data line and undoes dot-stuffing.
///
/// Only CRLF ends a line here. A bare LF or bare CR is message content, so
/// `LF . LF` or `LF . CRLF` can never end the data (the SMTP smuggling defence); the
/// end is a line consisting of exactly "." (CRLF "." CRLF, or "." CRLF as the very
/// first line). At most `limit` bytes are kept; past that the reader keeps scanning
/// for the end and reports the overflow. Owned by `SMTPSession` for one DATA phase.
struct SMTPDataReader {
    private enum State {
        /// At the start of a line (also at the start of the data).
        case lineStart
        /// A "." at the start of a line was consumed (it is a stuffing dot or the end).
        case dotAtLineStart
        /// "." CR at the start of a line.
        case dotCR
        /// Inside a line.
        case inLine
        /// Inside a line, a CR is held back until we know whether LF follows.
        case pendingCR
    }

    private var state: State = .lineStart
    private(set) var message: [UInt8] = []
    private(set) var overflowed = false
    let limit: Int

    init(limit: Int) {
        self.limit = max(limit, 0)
    }

    /// Consumes input; returns true when the end-of-data line was read (the buffer's
    /// read index then points at the first byte after it).
    mutating func consume(from buffer: inout SessionInputBuffer) -> Bool {
        let bytes = buffer.bytes
        var index = buffer.readIndex
        let end = bytes.count
        while index < end {
            switch state {
            case .inLine:
                // Fast path: copy up to the next CR in one go.
                var next = index
                while next < end, bytes[next] != 0x0D { next += 1 }
                if next > index { keep(bytes[index..<next]) }
                index = next
                if index < end {
                    state = .pendingCR
                    index += 1
                }
                continue
            case .lineStart:
                let byte = bytes[index]
                index += 1
                switch byte {
                case 0x2E: state = .dotAtLineStart
                case 0x0D: state = .pendingCR
                default: keep(byte); state = .inLine
                }
            case .dotAtLineStart:
                let byte = bytes[index]
                index += 1
                // The leading dot is dropped whatever follows it.
                if byte == 0x0D {
                    state = .dotCR
                } else {
                    keep(byte)
                    state = .inLine
                }
            case .dotCR:
                if bytes[index] == 0x0A {
                    buffer.consume(upTo: index + 1)
                    return true
                }
                // "." CR x: the dot was stuffing, the CR is content; re-read x.
                state = .pendingCR
            case .pendingCR:
                let byte = bytes[index]
                index += 1
                switch byte {
                case 0x0A: keep(0x0D); keep(0x0A); state = .lineStart
                case 0x0D: keep(0x0D)  // still pending: the new CR may start a CRLF
                default: keep(0x0D); keep(byte); state = .inLine
                }
            }
        }
        buffer.consume(upTo: end)
        return false
    }

    private mutating func keep(_ byte: UInt8) {
        guard !overflowed else { return }
        if message.count >= limit { overflowed = true; return }
        message.append(byte)
    }

    private mutating func keep(_ slice: ArraySlice<UInt8>) {
        guard !overflowed else { return }
        let room = limit - message.count
        if slice.count > room {
            message.append(contentsOf: slice.prefix(room))
            overflowed = true
        } else {
            message.append(contentsOf: slice)
        }
    }

    /// Hands the collected message out without copying it.
    mutating func takeMessage() -> [UInt8] {
        let taken = message
        message = []
        return taken
    }
}
