import Foundation

/// Cuts command lines (and SASL responses) out of an `SessionInputBuffer`.
///
/// A line ends with LF; one CR before it is stripped, so both CRLF and a bare LF end a
/// command (a bare LF is only tolerated here, never in message data). A line longer
/// than its limit is discarded up to its end without being buffered, and reported
/// once as `.tooLong` when the end arrives.
struct SMTPLineFramer {
    enum Line: Equatable {
        case line([UInt8])
        case tooLong
    }

    /// True while dropping the rest of an over-long line.
    private(set) var discarding = false
    /// Offset from the read index already searched for LF, so byte-at-a-time input
    /// does not rescan the same partial line.
    private var scanned = 0

    mutating func reset() {
        discarding = false
        scanned = 0
    }

    /// The next complete line, or nil when more input is needed.
    /// - Parameters:
    ///   - commandLimit: limit (line end included) for ordinary command lines.
    ///   - authLimit: limit for lines starting with "AUTH " and for SASL responses.
    ///   - saslResponse: the session waits for a SASL response, not a command.
    mutating func nextLine(in buffer: inout SessionInputBuffer, commandLimit: Int, authLimit: Int,
                           saslResponse: Bool) -> Line? {
        let bytes = buffer.bytes
        let start = buffer.readIndex
        var index = start + scanned
        while index < bytes.count, bytes[index] != 0x0A { index += 1 }

        if index >= bytes.count {
            // No line end yet.
            if discarding {
                buffer.consume(upTo: bytes.count)
                scanned = 0
                return nil
            }
            let pending = bytes.count - start
            let limit = Self.limit(bytes: bytes, from: start, commandLimit: commandLimit,
                                   authLimit: authLimit, saslResponse: saslResponse)
            if pending > limit {
                discarding = true
                buffer.consume(upTo: bytes.count)
                scanned = 0
            } else {
                scanned = pending
            }
            return nil
        }

        // Line end found at `index`.
        scanned = 0
        buffer.consume(upTo: index + 1)
        if discarding {
            discarding = false
            return .tooLong
        }
        let limit = Self.limit(bytes: bytes, from: start, commandLimit: commandLimit,
                               authLimit: authLimit, saslResponse: saslResponse)
        if index + 1 - start > limit { return .tooLong }
        var end = index
        if end > start, bytes[end - 1] == 0x0D { end -= 1 }
        return .line(Array(bytes[start..<end]))
    }

    private static func limit(bytes: [UInt8], from start: Int, commandLimit: Int, authLimit: Int,
                              saslResponse: Bool) -> Int {
        if saslResponse { return authLimit }
        // "AUTH " case-insensitively: the command may carry a long initial response.
        let auth: [UInt8] = [0x41, 0x55, 0x54, 0x48, 0x20]
        guard bytes.count - start >= auth.count else { return commandLimit }
        for offset in 0..<auth.count where bytes[start + offset] & 0xDF != auth[offset] & 0xDF {
            return commandLimit
        }
        return authLimit
    }
}
