/// Turns a stored message into the body of a POP3 multi-line response (RFC 1939
/// section 3): CRLF line ends, lines starting with "." byte-stuffed, and the
/// terminating ".\r\n". Pure functions; used by `POP3Session` for RETR and TOP.
enum POP3MessageFormatter {
    /// - Parameters:
    ///   - message: the message; CRLF or bare LF line ends.
    ///   - bodyLines: for TOP, how many body lines follow the header and the blank
    ///     line; nil (RETR) for all of them.
    static func multiline(_ message: [UInt8], bodyLines: Int?) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(message.count + message.count / 32 + 3)
        var inHeader = true
        var remaining = bodyLines ?? Int.max
        var start = 0
        while start < message.count {
            if !inHeader {
                if remaining == 0 { break }
                remaining -= 1
            }
            var end = start
            while end < message.count, message[end] != 0x0A { end += 1 }
            let next = end + 1
            if end > start, message[end - 1] == 0x0D { end -= 1 }
            if inHeader, end == start { inHeader = false }
            if end > start, message[start] == 0x2E { output.append(0x2E) }
            output.append(contentsOf: message[start..<end])
            output.append(contentsOf: [0x0D, 0x0A])
            start = next
        }
        output.append(contentsOf: [0x2E, 0x0D, 0x0A])
        return output
    }
}
