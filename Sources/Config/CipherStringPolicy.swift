/// The rule that DES, 3DES, RC2, RC4, MD5, NULL, EXPORT and anonymous suites can never
/// be enabled (DESIGN.md, TLS policy), applied to the operator's OpenSSL cipher string
/// when the config loads. Pure string work; the TLS module still appends its own
/// exclusions when it builds the SSL_CTX, so this is the early, readable error.
public enum CipherStringPolicy {
    /// One element of a cipher string that would enable a refused suite.
    public struct RefusedToken: Sendable, Equatable {
        public var token: String
        public var reason: String
    }

    private static let reasonDES = "DES and 3DES are insecure"
    private static let reasonRC = "RC2 and RC4 are insecure"
    private static let reasonMD5 = "MD5 is insecure"
    private static let reasonNULL = "NULL suites do not encrypt"
    private static let reasonExport = "EXPORT suites are deliberately weak"
    private static let reasonAnon = "anonymous suites do not authenticate the server"
    private static let reasonKeyword = "this keyword pulls in DES, 3DES, RC2, RC4, MD5, NULL, EXPORT or anonymous suites"

    /// Whole tokens (or '+'-combined parts) that are keywords for refused groups.
    private static let refusedKeywords: [String: String] = [
        "ALL": reasonKeyword, "COMPLEMENTOFALL": reasonKeyword, "COMPLEMENTOFDEFAULT": reasonKeyword,
        "LOW": reasonKeyword, "MEDIUM": reasonKeyword,
        "SSLV2": reasonKeyword, "SSLV3": reasonKeyword, "TLSV1": reasonKeyword, "TLSV1.0": reasonKeyword,
    ]

    /// Words of a cipher name (split on '-' and '_') that mark a refused suite, covering
    /// OpenSSL names (DES-CBC3-SHA, EXP-RC4-MD5, ADH-AES128-SHA) and IANA names
    /// (TLS_RSA_WITH_3DES_EDE_CBC_SHA, TLS_DH_anon_WITH_AES_128_CBC_SHA).
    private static let refusedWords: [String: String] = [
        "DES": reasonDES, "3DES": reasonDES, "CBC3": reasonDES, "DES40": reasonDES,
        "RC2": reasonRC, "RC4": reasonRC, "RC4128": reasonRC,
        "MD5": reasonMD5,
        "NULL": reasonNULL, "ENULL": reasonNULL,
        "EXPORT": reasonExport, "EXPORT40": reasonExport, "EXPORT56": reasonExport,
        "ANULL": reasonAnon, "ADH": reasonAnon, "AECDH": reasonAnon, "ANON": reasonAnon,
    ]

    /// The elements of a cipher string, split on ':', ',' and spaces.
    public static func tokens(_ cipherString: String) -> [String] {
        cipherString.split(whereSeparator: { $0 == ":" || $0 == "," || $0 == " " || $0 == "\t" }).map(String.init)
    }

    /// Every token that would enable a refused suite. Tokens starting with '!' or '-'
    /// only remove suites and are always fine; '@' directives (@STRENGTH) enable nothing.
    public static func refusedTokens(in cipherString: String) -> [RefusedToken] {
        var refused: [RefusedToken] = []
        for token in tokens(cipherString) {
            guard let first = token.first, first != "!", first != "-", first != "@" else { continue }
            let body = first == "+" ? String(token.dropFirst()) : token
            if let reason = refusalReason(body) {
                refused.append(RefusedToken(token: token, reason: reason))
            }
        }
        return refused
    }

    private static func refusalReason(_ token: String) -> String? {
        for part in token.split(separator: "+") {
            let upper = part.uppercased()
            if let reason = refusedKeywords[upper] { return reason }
            for word in upper.split(whereSeparator: { $0 == "-" || $0 == "_" }) {
                if let reason = refusedWords[String(word)] { return reason }
                // EXP-RC4-MD5, EXP1024-DES-CBC-SHA, EXP-EDH-RSA-DES-CBC-SHA
                if word.hasPrefix("EXP") { return reasonExport }
            }
        }
        return nil
    }

    /// TLS 1.3 suites (all AEAD) that OpenSSL knows; anything else is a typo or an
    /// integrity-only (NULL) suite.
    public static let tls13Suites: [String] = [
        "TLS_AES_256_GCM_SHA384", "TLS_AES_128_GCM_SHA256", "TLS_CHACHA20_POLY1305_SHA256",
        "TLS_AES_128_CCM_SHA256", "TLS_AES_128_CCM_8_SHA256",
    ]

    /// One message per unusable element of a TLS 1.3 `ciphersuites` string (':'-separated).
    public static func tls13Problems(in suites: String) -> [String] {
        let names = suites.split(separator: ":").map { String($0).trimmingSpaces() }
        if names.allSatisfy(\.isEmpty) { return ["names no suite; leave it out for the built-in policy"] }
        var problems: [String] = []
        for name in names where !name.isEmpty && !tls13Suites.contains(name) {
            if name == "TLS_SHA256_SHA256" || name == "TLS_SHA384_SHA384" {
                problems.append("\"\(name)\" is refused: \(reasonNULL)")
            } else {
                problems.append("unknown TLS 1.3 suite \"\(name)\"; expected some of \(tls13Suites.joined(separator: ", "))")
            }
        }
        return problems
    }
}

private extension String {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while s.first == " " { s = s.dropFirst() }
        while s.last == " " { s = s.dropLast() }
        return String(s)
    }
}
