#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Numeric IP address checks through the C library's `inet_pton`/`inet_ntop`, so the
/// config accepts exactly what the listener's `bind()` will. Canonical text form makes
/// `[0:0::1]:25` and `[::1]:25` compare equal when duplicate binds are looked for.
enum IPAddressSyntax {
    static func isIPv4(_ text: String) -> Bool { canonicalIPv4(text) != nil }
    static func isIPv6(_ text: String) -> Bool { canonicalIPv6(text) != nil }

    /// Dotted-quad form of a numeric IPv4 address; nil if `text` is not one.
    static func canonicalIPv4(_ text: String) -> String? {
        var address = in_addr()
        guard text.withCString({ inet_pton(AF_INET, $0, &address) }) == 1 else { return nil }
        return present(family: AF_INET, &address, capacity: Int(INET_ADDRSTRLEN))
    }

    /// RFC 5952 form of a numeric IPv6 address (no brackets, no zone); nil if `text`
    /// is not one.
    static func canonicalIPv6(_ text: String) -> String? {
        var address = in6_addr()
        guard text.withCString({ inet_pton(AF_INET6, $0, &address) }) == 1 else { return nil }
        return present(family: AF_INET6, &address, capacity: Int(INET6_ADDRSTRLEN))
    }

    private static func present<T>(family: Int32, _ address: inout T, capacity: Int) -> String? {
        var buffer = [CChar](repeating: 0, count: capacity + 1)
        let ok = withUnsafePointer(to: &address) { pointer in
            buffer.withUnsafeMutableBufferPointer { out in
                inet_ntop(family, pointer, out.baseAddress, socklen_t(capacity)) != nil
            }
        }
        guard ok else { return nil }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
