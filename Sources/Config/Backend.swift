/// Where a connector's cleartext session goes once TLS is terminated: the embedded
/// Maildir store, or an existing mail server reached over the PROXY protocol.
public enum Backend: Sendable, Equatable, Hashable, CustomStringConvertible {
    case store
    case proxy(host: String, port: UInt16)

    /// The config spelling: `store` or `proxy://host:port`.
    public var description: String {
        switch self {
        case .store:
            return "store"
        case .proxy(let host, let port):
            return host.contains(":") ? "proxy://[\(host)]:\(port)" : "proxy://\(host):\(port)"
        }
    }

    /// Parses `store` or `proxy://host:port` (host: a host name, an IPv4 address or a
    /// bracketed IPv6 address; port 1...65535). Nil for anything else.
    public static func parse(_ text: String) -> Backend? {
        if text == "store" { return .store }
        let scheme = "proxy://"
        guard text.hasPrefix(scheme) else { return nil }
        let rest = String(text.dropFirst(scheme.count))
        let host: String
        let portText: String
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { return nil }
            host = String(rest[rest.index(after: rest.startIndex)..<close])
            let after = rest[rest.index(after: close)...]
            guard after.hasPrefix(":") else { return nil }
            portText = String(after.dropFirst())
            guard IPAddressSyntax.isIPv6(host) else { return nil }
        } else {
            guard let colon = rest.lastIndex(of: ":") else { return nil }
            host = String(rest[..<colon])
            portText = String(rest[rest.index(after: colon)...])
            guard IPAddressSyntax.isIPv4(host) || HostNameSyntax.problem(host) == nil else { return nil }
        }
        guard let port = BindAddress.parsePort(portText), port != 0 else { return nil }
        return .proxy(host: host, port: port)
    }
}
