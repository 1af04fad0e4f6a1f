internal import COpenSSL
internal import CShims

/// An OpenSSL failure as a value: what MailEdge was doing plus OpenSSL's own
/// error queue, drained at the point of failure.
public struct OpenSSLError: Error, Sendable, CustomStringConvertible {
    public var operation: String
    public var reasons: [String]

    public var description: String {
        reasons.isEmpty ? operation : "\(operation): \(reasons.joined(separator: "; "))"
    }

    /// Drains the calling thread's OpenSSL error queue into a value.
    package static func drain(_ operation: String) -> OpenSSLError {
        var reasons: [String] = []
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            reasons.append(String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return OpenSSLError(operation: operation, reasons: reasons)
    }

    /// Empties this thread's error queue before an OpenSSL call whose errors are read.
    /// Skipped when the queue is already empty (the usual case): ERR_clear_error walks
    /// all 16 slots, ~800 instructions, and the TLS channel clears before every SSL
    /// call, five times per connection.
    package static func clear() {
        if ERR_peek_error() != 0 { ERR_clear_error() }
    }
}

/// Reads everything written to an OpenSSL memory BIO.
func drainMemoryBIO(_ bio: OpaquePointer) -> [UInt8] {
    var out: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = BIO_read(bio, &chunk, Int32(chunk.count))
        if n <= 0 { break }
        out.append(contentsOf: chunk[0..<Int(n)])
    }
    return out
}

/// Runs `body` with a read-only memory BIO over `bytes`.
func withMemoryBIO<R>(_ bytes: [UInt8], _ body: (OpaquePointer) throws -> R) rethrows -> R {
    try bytes.withUnsafeBytes { raw in
        let bio = BIO_new_mem_buf(raw.baseAddress, Int32(raw.count))!
        defer { BIO_free(bio) }
        return try body(bio)
    }
}
