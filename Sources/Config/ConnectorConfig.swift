/// One receive connector (`[[connector]]`): a named set of listening addresses speaking
/// one protocol with one TLS mode. An immutable part of the config snapshot; the
/// Server module builds a listener per bind address from it.
public struct ConnectorConfig: Sendable, Equatable {
    /// Unique (case-insensitively) among connectors, e.g. "Default Frontend".
    public var name: String
    public var `protocol`: ServiceProtocol
    /// Never empty.
    public var bind: [BindAddress]
    public var tls: ConnectorTLS
    /// Refuse mail transactions / authentication before TLS (`530 5.7.0`).
    public var requireTLS: Bool
    /// Banner and EHLO name; the certificate name asked for when the client sends no SNI.
    public var fqdn: String
    /// Optional certificate pin: a thumbprint (or prefix of 8+ hex digits, lowercased)
    /// or a path to a PEM file. Nil: the resolver chooses.
    public var certificate: String?
    /// Mutual TLS for domain security (smtp connectors only).
    public var domainSecure: Bool
    /// Accept a PROXY v1/v2 header from a trusted load balancer.
    public var proxyProtocolIn: Bool
    public var backend: Backend
    /// Offer AUTH before TLS. False by default, and should stay so.
    public var allowPlaintextAuth: Bool

    public init(
        name: String,
        protocol: ServiceProtocol,
        bind: [BindAddress],
        tls: ConnectorTLS = .starttls,
        requireTLS: Bool = false,
        fqdn: String,
        certificate: String? = nil,
        domainSecure: Bool = false,
        proxyProtocolIn: Bool = false,
        backend: Backend = .store,
        allowPlaintextAuth: Bool = false
    ) {
        self.name = name
        self.protocol = `protocol`
        self.bind = bind
        self.tls = tls
        self.requireTLS = requireTLS
        self.fqdn = fqdn
        self.certificate = certificate
        self.domainSecure = domainSecure
        self.proxyProtocolIn = proxyProtocolIn
        self.backend = backend
        self.allowPlaintextAuth = allowPlaintextAuth
    }
}
