/// Host name grammar (RFC 1123): dot-separated labels of letters, digits and '-',
/// 1 to 63 characters each, not starting or ending with '-', 253 characters in all.
/// Used for `server.name`, `server.fqdn`, connector `fqdn` and every accepted domain.
enum HostNameSyntax {
    /// Nil when `name` is a valid host name, else a short reason for the config issue.
    static func problem(_ name: String) -> String? {
        if name.isEmpty { return "must not be empty" }
        if name.utf8.count > 253 { return "\"\(name)\" is longer than 253 characters" }
        if IPAddressSyntax.isIPv4(name) || IPAddressSyntax.isIPv6(name) {
            return "\"\(name)\" is an IP address, not a host name"
        }
        for label in name.split(separator: ".", omittingEmptySubsequences: false) {
            if label.isEmpty {
                return "\"\(name)\" has an empty label (leading, trailing or double dot)"
            }
            if label.utf8.count > 63 {
                return "\"\(name)\" has a label longer than 63 characters"
            }
            if label.hasPrefix("-") || label.hasSuffix("-") {
                return "\"\(name)\" has a label that starts or ends with '-'"
            }
            if let bad = label.unicodeScalars.first(where: { !isLabelCharacter($0) }) {
                return "\"\(name)\" contains '\(bad)'; a host name has only letters, digits, '-' and '.'"
            }
        }
        return nil
    }

    private static func isLabelCharacter(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "a"..."z", "A"..."Z", "0"..."9", "-": return true
        default: return false
        }
    }
}
