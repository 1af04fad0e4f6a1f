/// One listening address of a receive connector or of the management endpoint: a
/// numeric IP address and a port. Host names are refused on purpose: a listener must
/// not depend on DNS at start-up. `host` is in canonical form (RFC 5952 for IPv6), so
/// equal addresses compare equal whatever their spelling in the config.
public struct BindAddress: Sendable, Hashable, CustomStringConvertible {
    /// "127.0.0.1", "::1", "0.0.0.0", "::" (no brackets).
    public var host: String
    /// 0 asks the kernel for an ephemeral port (tests).
    public var port: UInt16
    public var isIPv6: Bool
    /// 0.0.0.0 or ::, every address of its family.
    public var isWildcard: Bool

    /// Nil when `host` is not a numeric IPv4 or IPv6 address.
    public init?(host: String, port: UInt16) {
        if let v4 = IPAddressSyntax.canonicalIPv4(host) {
            self.host = v4
            self.isIPv6 = false
            self.isWildcard = v4 == "0.0.0.0"
        } else if let v6 = IPAddressSyntax.canonicalIPv6(host) {
            self.host = v6
            self.isIPv6 = true
            self.isWildcard = v6 == "::"
        } else {
            return nil
        }
        self.port = port
    }

    /// "127.0.0.1:25" or "[::1]:25".
    public var description: String {
        isIPv6 ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    /// Accepts "1.2.3.4:25" and "[::1]:25"; numeric addresses only, port 0...65535.
    public static func parse(_ s: String) -> BindAddress? {
        if case .success(let address) = diagnose(s) { return address }
        return nil
    }

    /// Like `parse`, but says what is wrong, for the config issue.
    static func diagnose(_ s: String) -> Result<BindAddress, ValueProblem> {
        let example = "expected address:port, e.g. 127.0.0.1:25 or [::1]:25"
        let hostText: String
        let portText: String?
        if s.hasPrefix("[") {
            guard let close = s.firstIndex(of: "]") else {
                return .failure(.init("\"\(s)\" has no closing ']'; \(example)"))
            }
            hostText = String(s[s.index(after: s.startIndex)..<close])
            let after = s[s.index(after: close)...]
            if after.isEmpty {
                portText = nil
            } else if after.hasPrefix(":") {
                portText = String(after.dropFirst())
            } else {
                return .failure(.init("\"\(s)\": unexpected text after ']'; \(example)"))
            }
            guard IPAddressSyntax.isIPv6(hostText) else {
                return .failure(.init("\"\(hostText)\" in \"\(s)\" is not a numeric IPv6 address"))
            }
        } else if s.filter({ $0 == ":" }).count > 1 {
            return .failure(.init("\"\(s)\": an IPv6 address must be in brackets, e.g. [::1]:25"))
        } else if let colon = s.lastIndex(of: ":") {
            hostText = String(s[..<colon])
            portText = String(s[s.index(after: colon)...])
        } else {
            hostText = s
            portText = nil
        }
        if !s.hasPrefix("["), !IPAddressSyntax.isIPv4(hostText) {
            if hostText.isEmpty {
                return .failure(.init("\"\(s)\" has no address; \(example) (0.0.0.0 for all IPv4 addresses)"))
            }
            return .failure(.init("\"\(hostText)\" in \"\(s)\" is not a numeric IP address (host names are not accepted)"))
        }
        guard let portText else {
            return .failure(.init("\"\(s)\" has no port; \(example)"))
        }
        guard let port = parsePort(portText) else {
            if !portText.isEmpty, portText.allSatisfy({ $0.isASCII && $0.isNumber }) {
                return .failure(.init("port \(portText) in \"\(s)\" is out of range (0-65535)"))
            }
            return .failure(.init("\"\(portText)\" in \"\(s)\" is not a port number (0-65535)"))
        }
        // Valid by the checks above; the initializer canonicalizes.
        guard let address = BindAddress(host: hostText, port: port) else {
            return .failure(.init("\"\(s)\" is not a numeric IP address and port"))
        }
        return .success(address)
    }

    /// Decimal digits only (no sign, no spaces), 0...65535.
    static func parsePort(_ text: String) -> UInt16? {
        guard !text.isEmpty, text.utf8.count <= 5,
              text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
              let value = Int(text), value <= Int(UInt16.max)
        else { return nil }
        return UInt16(value)
    }

    /// True when both cannot be bound at once: the same address and port, or a
    /// wildcard and any address of the same family on the same port. Port 0 is
    /// ephemeral and never clashes.
    public func conflicts(with other: BindAddress) -> Bool {
        guard port == other.port, port != 0, isIPv6 == other.isIPv6 else { return false }
        return host == other.host || isWildcard || other.isWildcard
    }
}

/// Why a config value (a bind address, a certificate pin) was refused, in words.
struct ValueProblem: Error, Sendable {
    var message: String
    init(_ message: String) { self.message = message }
}
