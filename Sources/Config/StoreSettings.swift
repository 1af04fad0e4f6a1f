/// `[store]`: the embedded Maildir store's view of which domains are local.
public struct StoreSettings: Sendable, Equatable {
    /// Lowercased, without duplicates; besides server.fqdn and localhost, which are
    /// always accepted (see `MailEdgeConfig.acceptedDomains`).
    public var acceptedDomains: [String]

    public init(acceptedDomains: [String] = []) {
        self.acceptedDomains = acceptedDomains
    }
}
