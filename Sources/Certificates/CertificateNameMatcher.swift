/// DESIGN.md's identity rules, as pure functions: a name matches a certificate by
/// its Subject CN or any SAN DNS name, case-insensitively, trailing dot ignored; a
/// wildcard is the whole left-most label, matches exactly one label, and never sits
/// directly over a public suffix.
public enum CertificateNameMatcher {
    public enum Match: Int, Sendable, Comparable {
        case wildcard = 1
        case exact = 2
        public static func < (a: Match, b: Match) -> Bool { a.rawValue < b.rawValue }
    }

    /// The best match of `name` against `certificateNames`, or nil.
    public static func match(_ name: String, against certificateNames: [String]) -> Match? {
        let host = normalize(name)
        guard !host.isEmpty, !host.contains("*") else { return nil }
        var best: Match?
        for candidate in certificateNames.map(normalize) {
            if candidate == host { return .exact }
            if wildcardProblem(candidate) == nil, candidate.hasPrefix("*.") {
                let base = candidate.dropFirst(2)
                // Exactly one label in place of the "*".
                if host.hasSuffix("." + base) {
                    let label = host.dropLast(base.count + 1)
                    if !label.isEmpty, !label.contains(".") { best = .wildcard }
                }
            }
        }
        return best
    }

    /// Why a certificate name is not an acceptable wildcard, or nil when it is
    /// fine (including when it is not a wildcard at all).
    public static func wildcardProblem(_ name: String) -> String? {
        let n = normalize(name)
        guard n.contains("*") else { return nil }
        let labels = n.split(separator: ".", omittingEmptySubsequences: false)
        guard labels.first == "*" else {
            return "\"\(name)\": a wildcard must be the whole left-most label (partial wildcards such as \"mail*.contoso.com\" are not allowed)"
        }
        guard labels.dropFirst().allSatisfy({ !$0.contains("*") }) else {
            return "\"\(name)\": only one wildcard, in the left-most label, is allowed"
        }
        let base = labels.dropFirst().joined(separator: ".")
        if isPublicSuffix(base) {
            return "\"\(name)\": a wildcard directly over the public suffix \"\(base)\" is not allowed"
        }
        return nil
    }

    /// Lower case, trailing dots removed: the form names are compared in.
    public static func normalize(_ name: String) -> String {
        // Most names arrive normalized already (an SNI per handshake): no copy then.
        var name = name
        let normalized = name.withUTF8 { bytes in
            guard let last = bytes.last, last != 0x2E else { return false }
            for byte in bytes where byte >= 0x80 || (byte >= 0x41 && byte <= 0x5A) { return false }
            return true
        }
        if normalized { return name }
        var n = name.lowercased()
        while n.hasSuffix(".") { n.removeLast() }
        return n
    }

    /// A single label is always a public suffix (com, org, uk); a few common
    /// second-level registries are listed too. Not the full Public Suffix List.
    static func isPublicSuffix(_ domain: String) -> Bool {
        let labels = domain.split(separator: ".")
        if labels.count <= 1 { return true }
        return labels.count == 2 && secondLevelSuffixes.contains(domain)
    }

    static let secondLevelSuffixes: Set<String> = [
        "co.uk", "org.uk", "ac.uk", "gov.uk", "me.uk", "com.au", "net.au", "org.au", "co.nz", "co.jp",
        "ne.jp", "or.jp", "com.br", "com.cn", "com.mx", "co.za", "co.in", "com.tr", "com.sg", "co.kr",
    ]
}
