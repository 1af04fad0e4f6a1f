import Foundation

/// The client certificate of a TLS session, as the server layer verified it
/// (chain to the partner roots, dates, CRLs, EKU). Pure facts for the session.
public struct ClientCertificateFacts: Sendable, Equatable {
    public var subject: String
    public var issuer: String
    public var thumbprint: String
    /// Subject CN and SAN DNS names.
    public var names: [String]
    /// nil when the certificate verified; otherwise the precise reason (untrusted
    /// issuer, expired, revoked, self-signed, wrong key usage, ...).
    public var failure: String?

    public init(subject: String, issuer: String, thumbprint: String, names: [String], failure: String?) {
        self.subject = subject
        self.issuer = issuer
        self.thumbprint = thumbprint
        self.names = names
        self.failure = failure
    }

    public var isVerified: Bool { failure == nil }
}

/// Exchange's domain security as DESIGN.md's table of replies: which MAIL FROM
/// domains must arrive over mutually authenticated TLS, and whether this
/// connector asks for client certificates at all. Pure.
public struct DomainSecurityPolicy: Sendable, Equatable {
    /// TLSReceiveDomainSecureList, lower-case.
    public var secureDomains: Set<String>
    /// The connector's `domain_secure`.
    public var connectorEnabled: Bool

    public init(secureDomains: [String] = [], connectorEnabled: Bool = false) {
        self.secureDomains = Set(secureDomains.map { $0.lowercased() })
        self.connectorEnabled = connectorEnabled
    }

    public enum Verdict: Sendable, Equatable {
        /// The domain is not on the list: nothing to check.
        case notSecureDomain
        /// All checks pass: a Partner session for `domain`.
        case partner(domain: String)
        /// Refused: the reply line and the precise reason for the log.
        case refused(reply: String, reason: String)
    }

    /// DESIGN.md's table, checked at each MAIL FROM.
    public func check(sender: String, tls: TLSFacts?) -> Verdict {
        guard let at = sender.lastIndex(of: "@") else { return .notSecureDomain }
        var domain = sender[sender.index(after: at)...].lowercased()
        while domain.hasSuffix(".") { domain.removeLast() }
        guard secureDomains.contains(domain) else { return .notSecureDomain }
        guard connectorEnabled else {
            return .refused(reply: "451 4.7.3 Secure domain \(domain) is not allowed on this connector; try another server",
                            reason: "\(domain) is a secure domain but this connector has domain_secure = false")
        }
        guard let tls else {
            return .refused(reply: "530 5.7.1 Not authenticated", reason: "\(domain) is a secure domain and the session did not use STARTTLS")
        }
        guard let certificate = tls.clientCertificate else {
            return .refused(reply: "530 5.7.1 Not authenticated", reason: "\(domain) is a secure domain and the client sent no certificate")
        }
        if let failure = certificate.failure {
            return .refused(reply: "454 4.7.5 Certificate validation failure",
                            reason: "client certificate \(certificate.subject) (issuer \(certificate.issuer)) for \(domain): \(failure)")
        }
        guard certificate.names.contains(where: { Self.name($0, coversDomain: domain) }) else {
            return .refused(reply: "454 4.7.5 Certificate validation failure",
                            reason: "client certificate \(certificate.subject) names \(certificate.names.joined(separator: ", ")), none of which is \(domain) or a host within it")
        }
        return .partner(domain: domain)
    }

    /// `fabrikam.com`, `mail.fabrikam.com` and `*.fabrikam.com` cover fabrikam.com.
    static func name(_ certificateName: String, coversDomain domain: String) -> Bool {
        var name = certificateName.lowercased()
        while name.hasSuffix(".") { name.removeLast() }
        if name.hasPrefix("*.") { name.removeFirst(2) }
        return name == domain || name.hasSuffix("." + domain)
    }

    /// Header names a sender must never be able to set: removed from every message.
    public static let reservedHeaderPrefix = "x-mailedge-auth"
}

/// Removes every `X-MailEdge-Auth*` header field (with its folded continuation
/// lines) from the header section of a CRLF message; the body is untouched.
public func removingReservedHeaders(_ message: [UInt8]) -> [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(message.count)
    var index = 0
    var dropping = false
    let prefix = Array(DomainSecurityPolicy.reservedHeaderPrefix.utf8)
    while index < message.count {
        // One line, CRLF included.
        var end = index
        while end < message.count && message[end] != 10 { end += 1 }
        end = min(end + 1, message.count)
        let line = message[index..<end]
        if line.first == 13 || line.first == 10 {
            // Blank line: the body follows unchanged.
            out.append(contentsOf: message[index...])
            return out
        }
        if line.first == 32 || line.first == 9 {
            if !dropping { out.append(contentsOf: line) }
        } else {
            dropping = line.count >= prefix.count && zip(line.prefix(prefix.count), prefix).allSatisfy { a, b in
                (a >= 65 && a <= 90 ? a + 32 : a) == b
            }
            if !dropping { out.append(contentsOf: line) }
        }
        index = end
    }
    return out
}
