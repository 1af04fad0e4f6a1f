import Foundation

/// DESIGN.md's resolver as a pure function of the request and the inventory: which
/// certificate a handshake presents, and why. No I/O, no OpenSSL calls beyond
/// reading already-parsed certificates; safe to share across threads.
public struct CertificateResolver: Sendable {
    public struct Request: Sendable {
        public var service: CertificateService
        /// SNI from the ClientHello; nil when the client sent none.
        public var serverName: String?
        /// The connector's fqdn: the name when there is no SNI.
        public var connectorFQDN: String
        /// Connector pins: thumbprint prefixes or certificate file paths.
        public var pins: [String]
        public var eccEnabled: Bool
        public var clientOffersECDSA: Bool
        /// ServerName and ServerFQDN: the names that mark the service default.
        public var defaultNames: [String]
        public var now: Date

        public init(service: CertificateService, serverName: String?, connectorFQDN: String, pins: [String] = [],
                    eccEnabled: Bool = false, clientOffersECDSA: Bool = false, defaultNames: [String], now: Date = Date()) {
            self.service = service
            self.serverName = serverName
            self.connectorFQDN = connectorFQDN
            self.pins = pins
            self.eccEnabled = eccEnabled
            self.clientOffersECDSA = clientOffersECDSA
            self.defaultNames = defaultNames
            self.now = now
        }

        public var name: String { serverName ?? connectorFQDN }
    }

    public struct Decision: Sendable {
        public var record: CertificateRecord
        public var reason: String
        /// Only expired certificates were left: served anyway, to be logged as an error.
        public var servedExpired: Bool
    }

    public let records: [CertificateRecord]

    public init(records: [CertificateRecord]) { self.records = records }

    public func resolve(_ request: Request) -> Decision? {
        let enabled = records.filter {
            $0.services.contains(request.service) && $0.hasPrivateKey && $0.status != .revoked
        }
        let current = enabled.filter { $0.leaf.notBefore <= request.now && request.now <= $0.leaf.notAfter }
        if let decision = choose(from: current, request) { return decision }
        // Nothing valid now: serve the best expired one rather than fail every handshake.
        let expired = enabled.filter { request.now > $0.leaf.notAfter }
        guard var decision = choose(from: expired, request) else { return nil }
        decision.servedExpired = true
        decision.reason = "only expired certificates are enabled for \(request.service.rawValue); " + decision.reason
        return decision
    }

    private func choose(from candidates: [CertificateRecord], _ request: Request) -> Decision? {
        guard !candidates.isEmpty else { return nil }
        let eccUsable = request.eccEnabled && request.clientOffersECDSA
        // With the flag off (or a client without ECDSA) no ECC certificate is presented.
        let usable = candidates.filter { !$0.isECC || eccUsable }
        let whyKey = eccUsable ? "client offers ECDSA and ECC is enabled" : (request.eccEnabled ? "client offers no ECDSA" : "ECC certificates disabled")

        if !request.pins.isEmpty {
            let pinned = usable.filter { record in request.pins.contains { pin in Self.pinMatches(pin, record) } }
            if let best = preferECC(pinned, eccUsable) {
                return Decision(record: best, reason: "connector pin \(best.thumbprint.hex.prefix(16)) (\(best.isECC ? "ECC" : "RSA"); \(whyKey))", servedExpired: false)
            }
        }

        let name = request.name
        let source = request.serverName == nil ? "connector fqdn" : "SNI"
        let matched = usable.compactMap { record -> (CertificateRecord, CertificateNameMatcher.Match)? in
            CertificateNameMatcher.match(name, against: record.leaf.certificateDomains).map { (record, $0) }
        }
        if let bestLevel = matched.map(\.1).max() {
            let top = matched.filter { $0.1 == bestLevel }.map(\.0)
            if let best = preferECC(top, eccUsable) {
                let kind = bestLevel == .exact ? "exact" : "wildcard"
                return Decision(record: best, reason: "\(kind) match for \(source) \(name); \(Self.tieReason(best)); \(best.isECC ? "ECC" : "RSA") (\(whyKey))", servedExpired: false)
            }
        }

        let defaults = usable.filter { record in
            request.defaultNames.contains { CertificateNameMatcher.match($0, against: record.leaf.certificateDomains) == .exact }
        }
        if let best = preferECC(defaults, eccUsable) ?? preferECC(usable, eccUsable) {
            let isDefault = defaults.contains { $0.thumbprint == best.thumbprint }
            return Decision(record: best, reason: "no certificate for \(request.service.rawValue) matches \(source) \(name); \(isDefault ? "service default" : "best remaining certificate") \(best.leaf.subject)", servedExpired: false)
        }
        return nil
    }

    /// The best by DESIGN.md's order, an ECC one first when usable.
    private func preferECC(_ records: [CertificateRecord], _ eccUsable: Bool) -> CertificateRecord? {
        let sorted = records.sorted(by: Self.better)
        if eccUsable, let ecc = sorted.first(where: \.isECC) { return ecc }
        return sorted.first { !$0.isECC } ?? sorted.first
    }

    /// CA-issued beats self-signed; then the newest NotBefore; then the thumbprint.
    static func better(_ a: CertificateRecord, _ b: CertificateRecord) -> Bool {
        let aCA = !a.leaf.isSelfSigned, bCA = !b.leaf.isSelfSigned
        if aCA != bCA { return aCA }
        if a.leaf.notBefore != b.leaf.notBefore { return a.leaf.notBefore > b.leaf.notBefore }
        return a.thumbprint < b.thumbprint
    }

    static func tieReason(_ record: CertificateRecord) -> String {
        "\(record.leaf.isSelfSigned ? "self-signed" : "CA-issued"), NotBefore \(CertificateProperties.format(record.leaf.notBefore))"
    }

    public static func pinMatches(_ pin: String, _ record: CertificateRecord) -> Bool {
        if pin.contains("/") || pin.hasSuffix(".pem") || pin.hasSuffix(".crt") || pin.hasSuffix(".cer") {
            if case .configFile(let path) = record.source { return path == pin }
            return record.certificate.certificatePath == pin
        }
        return record.thumbprint.hex.hasPrefix(pin.lowercased())
    }
}
