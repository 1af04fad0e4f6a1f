import Foundation
import Certificates

/// The resolver's decisions for one connector, computed once when the config and
/// certificates load, so the ClientHello callback only looks a name up: exact
/// names, then the wildcard entry of the parent domain, then the service default.
/// A decision whose certificate has left its validity window since is re-resolved
/// with the full resolver (the slow path). Immutable, hence Sendable.
public final class CertificateSelector: Sendable {
    public struct Choice: Sendable {
        /// Index into `certificates`.
        public let index: Int
        public let reason: String
        public let servedExpired: Bool
        let notBefore: Date
        let notAfter: Date
    }

    /// Ids into `choices`.
    private struct Entry: Sendable {
        var rsa: Int?
        var ecc: Int?
        func choice(ecdsa: Bool) -> Int? { ecdsa ? (ecc ?? rsa) : rsa }
    }

    /// Every precomputed decision; a handshake records the id of the one it used.
    public let choices: [Choice]

    /// Every certificate a choice can name, in a fixed order.
    public let certificates: [StoredCertificate]
    /// Their thumbprints, same order: the per-handshake lookups copy one of these,
    /// not a whole StoredCertificate.
    public let thumbprints: [Thumbprint]
    private let resolver: CertificateResolver
    private let template: CertificateResolver.Request
    private let byName: [String: Entry]
    private let noSNI: Entry
    private let unmatched: Entry
    private let indexByThumbprint: [Thumbprint: Int]

    /// `template` carries the connector's service, fqdn, pins, ECC flag and default names.
    public init?(resolver: CertificateResolver, template: CertificateResolver.Request) {
        self.resolver = resolver
        self.template = template
        let usable = resolver.records.filter { $0.services.contains(template.service) && $0.hasPrivateKey }
        certificates = usable.map(\.certificate)
        thumbprints = certificates.map(\.thumbprint)
        var indexByThumbprint: [Thumbprint: Int] = [:]
        for (index, record) in usable.enumerated() where indexByThumbprint[record.thumbprint] == nil {
            indexByThumbprint[record.thumbprint] = index
        }
        self.indexByThumbprint = indexByThumbprint

        var choices: [Choice] = []
        func entry(_ serverName: String?, probe: String? = nil) -> Entry {
            var request = template
            request.serverName = serverName
            request.clientOffersECDSA = false
            let rsa = resolver.resolve(request)
            request.clientOffersECDSA = true
            let ecc = template.eccEnabled ? resolver.resolve(request) : nil
            func choice(_ decision: CertificateResolver.Decision?) -> Int? {
                guard let decision, let index = indexByThumbprint[decision.record.thumbprint] else { return nil }
                // Probe names stand for "any such name": keep them out of the logged reason.
                let reason = probe.flatMap { shown in serverName.map { decision.reason.replacingOccurrences(of: $0, with: shown) } }
                    ?? decision.reason
                choices.append(Choice(index: index, reason: reason, servedExpired: decision.servedExpired,
                                      notBefore: decision.record.leaf.notBefore, notAfter: decision.record.leaf.notAfter))
                return choices.count - 1
            }
            return Entry(rsa: choice(rsa), ecc: choice(ecc))
        }

        var byName: [String: Entry] = [:]
        for record in usable {
            for name in record.leaf.certificateDomains {
                let key = CertificateNameMatcher.normalize(name)
                guard byName[key] == nil, CertificateNameMatcher.wildcardProblem(key) == nil else { continue }
                // A wildcard entry is resolved for a label no certificate names exactly.
                byName[key] = key.hasPrefix("*.") ? entry("mailedge-wildcard-probe" + key.dropFirst(1), probe: key) : entry(key)
            }
        }
        self.byName = byName
        noSNI = entry(nil)
        unmatched = entry("mailedge-no-such-name.invalid", probe: "the requested name")
        self.choices = choices
        guard noSNI.rsa != nil || noSNI.ecc != nil else { return nil }
    }

    /// The certificate most handshakes get: the no-SNI choice for a client that can
    /// take ECC (modern clients), else the RSA one. Its presentation context is the
    /// one `SSL`s start from, so those handshakes switch nothing.
    public var likelyIndex: Int? { (noSNI.ecc ?? noSNI.rsa).map { choices[$0].index } }

    /// The decision for one ClientHello, with its id in `choices` (nil when it had to
    /// be re-resolved). Allocation-free on the fast path apart from the lower-cased name.
    public func select(serverName: String?, clientOffersECDSA: Bool, now: Date = Date()) -> (choice: Choice, id: Int?)? {
        let entry: Entry
        if let serverName {
            let name = CertificateNameMatcher.normalize(serverName)
            if let exact = byName[name] {
                entry = exact
            } else if let dot = name.firstIndex(of: "."), let wildcard = byName["*" + name[dot...]] {
                entry = wildcard
            } else {
                entry = unmatched
            }
        } else {
            entry = noSNI
        }
        if let id = entry.choice(ecdsa: clientOffersECDSA) {
            let choice = choices[id]
            if choice.notBefore <= now, now <= choice.notAfter || choice.servedExpired { return (choice, id) }
        }
        // Something expired or became valid since the table was built: ask the resolver.
        var request = template
        request.serverName = serverName
        request.clientOffersECDSA = clientOffersECDSA
        request.now = now
        guard let decision = resolver.resolve(request), let index = indexByThumbprint[decision.record.thumbprint] else { return nil }
        return (Choice(index: index, reason: "re-resolved (validity changed since start-up): " + decision.reason,
                       servedExpired: decision.servedExpired,
                       notBefore: decision.record.leaf.notBefore, notAfter: decision.record.leaf.notAfter), nil)
    }
}
