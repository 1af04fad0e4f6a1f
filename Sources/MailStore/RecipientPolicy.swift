/// Who may receive mail here: local users of accepted domains; other domains only
/// for authenticated senders (relay). Pure once the user list is given.
public struct RecipientPolicy: Sendable {
    public enum Verdict: Sendable, Equatable {
        case local(user: String)
        case relay
        case unknownUser
        case relayDenied
    }

    public let acceptedDomains: Set<String>

    public init(acceptedDomains: [String]) {
        self.acceptedDomains = Set(acceptedDomains.map { Self.normalize($0) })
    }

    /// `userExists` is consulted only for addresses in an accepted domain.
    public func classify(_ address: String, authenticated: Bool, userExists: (String) -> Bool) -> Verdict {
        guard let at = address.lastIndex(of: "@") else {
            // RFC 5321 4.5.1: <postmaster> without a domain must be accepted.
            if address.lowercased() == "postmaster" { return userExists("postmaster") ? .local(user: "postmaster") : .unknownUser }
            return .unknownUser
        }
        let local = String(address[..<at]).lowercased()
        let domain = Self.normalize(String(address[address.index(after: at)...]))
        if acceptedDomains.contains(domain) {
            return UserDatabase.isValidName(local) && userExists(local) ? .local(user: local) : .unknownUser
        }
        return authenticated ? .relay : .relayDenied
    }

    /// The user a login name stands for: `alice`, or `alice@contoso.com` when
    /// contoso.com is accepted here (mail clients often log in with the address).
    public func userName(forLogin login: String) -> String {
        let lower = login.lowercased()
        guard let at = lower.lastIndex(of: "@") else { return lower }
        let domain = Self.normalize(String(lower[lower.index(after: at)...]))
        return acceptedDomains.contains(domain) ? String(lower[..<at]) : lower
    }

    static func normalize(_ domain: String) -> String {
        var d = domain.lowercased()
        while d.hasSuffix(".") { d.removeLast() }
        return d
    }
}
