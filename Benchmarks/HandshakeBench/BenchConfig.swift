import ArgumentParser
import Glibc

/// How a benchmark connection reaches TLS: straight away, or after a mail
/// protocol's plaintext STARTTLS exchange.
enum BenchMode: String, CaseIterable, ExpressibleByArgument, Sendable {
    case implicit
    case starttlsSMTP = "starttls-smtp"
    case starttlsIMAP = "starttls-imap"
    case starttlsPOP3 = "starttls-pop3"

    var hasPrelude: Bool { self != .implicit }
}

/// The loopback address under test, checked to be 127.0.0.0/8 or ::1.
/// Kept as plain bytes so it can cross threads; each loop builds its own sockaddr.
struct TargetAddress: Sendable {
    let isIPv6: Bool
    let bytes: [UInt8]  // 4 or 16 bytes, network order
    let port: UInt16
    let text: String

    /// Parses a numeric address and refuses anything that is not loopback:
    /// the benchmark must never be pointed at someone else's server.
    static func parseLoopback(_ host: String, port: Int) -> Result<TargetAddress, BenchError> {
        guard (1...65535).contains(port) else {
            return .failure(BenchError("--port must be between 1 and 65535, not \(port)"))
        }
        var v4 = in_addr()
        if inet_pton(AF_INET, host, &v4) == 1 {
            let bytes = withUnsafeBytes(of: &v4) { Array($0) }
            guard bytes[0] == 127 else {
                return .failure(BenchError("refusing --host \(host): only loopback targets (127.0.0.0/8 or ::1) may be benchmarked"))
            }
            return .success(TargetAddress(isIPv6: false, bytes: bytes, port: UInt16(port), text: host))
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, host, &v6) == 1 {
            let bytes = withUnsafeBytes(of: &v6) { Array($0) }
            guard bytes == [UInt8](repeating: 0, count: 15) + [1] else {
                return .failure(BenchError("refusing --host \(host): only loopback targets (127.0.0.0/8 or ::1) may be benchmarked"))
            }
            return .success(TargetAddress(isIPv6: true, bytes: bytes, port: UInt16(port), text: host))
        }
        return .failure(BenchError("--host must be a numeric loopback address (127.0.0.1 or ::1), not '\(host)'"))
    }
}

/// Everything a load thread needs, immutable once the command line is parsed.
struct BenchConfig: Sendable {
    var target: TargetAddress
    var serverName: String?
    var mode: BenchMode
    var readGreeting: Bool
    var tls13: Bool
    var cipherList: String?
    var cipherSuites: String?
    var groups: String
    var sigalgs: String?
    var resume: Bool
    var concurrency: Int
    var timeoutNanos: UInt64
    var ticketProbeNanos: UInt64 = 20_000_000

    /// Implicit TLS with a greeting: the server's first line is read through TLS.
    var readsGreetingAfterTLS: Bool { mode == .implicit && readGreeting }
}

/// A benchmark error with a human reason; printed on stderr and turned into exit 1.
struct BenchError: Error, CustomStringConvertible, Sendable {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Monotonic clock in nanoseconds (vDSO, no allocation).
@inline(__always)
func monotonicNanos() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
}

/// Writes one line to stderr with write(2): the C `stderr` global is not usable
/// from Swift 6 strict concurrency.
func printError(_ message: String) {
    var line = message
    line.append("\n")
    line.withUTF8 { buf in
        var offset = 0
        while offset < buf.count {
            let n = write(2, buf.baseAddress! + offset, buf.count - offset)
            if n <= 0 { return }
            offset += n
        }
    }
}

/// strerror as a Swift string (failure paths only).
func errnoText(_ code: Int32) -> String {
    String(cString: strerror(code))
}

/// Raises RLIMIT_NOFILE to its hard limit so thousands of held connections fit.
func raiseOpenFileLimit() {
    var limit = rlimit()
    guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return }
    if limit.rlim_cur < limit.rlim_max {
        limit.rlim_cur = limit.rlim_max
        _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    }
}
