import Foundation
internal import COpenSSL
import Certificates

/// Verifies the certificate a partner MTA presents on a domain-security connector:
/// chain to the partner roots (`[domain_security] trusted_roots`, intermediates
/// sent by the client accepted), validity dates, CRLs (`crl_dir`), and a key usage
/// that allows TLS client or server authentication (real MTAs reuse their server
/// certificate). The trust store is loaded once at start-up; `verify` does no file
/// I/O. Immutable, hence Sendable.
public final class ClientCertificateVerifier: Sendable {
    public let validator: CertificateValidator

    public init(trust: TrustSettings) throws {
        validator = try CertificateValidator(trust: trust)
    }

    public var problems: [CertificateProblem] { validator.problems }

    /// The client's certificate facts, or nil when it sent none.
    package func verify(_ ssl: OpaquePointer, now: Date = Date()) -> PeerCertificateCheck? {
        guard let peer = SSL_get1_peer_certificate(ssl) else { return nil }
        var chain = [X509Certificate(owning: peer)]
        if let stack = SSL_get_peer_cert_chain(ssl) {
            // On a server the stack holds the intermediates only (not the leaf).
            for index in 0..<OPENSSL_sk_num(stack) {
                guard let raw = OPENSSL_sk_value(stack, index) else { continue }
                let x509 = OpaquePointer(raw)
                X509_up_ref(x509)
                let certificate = X509Certificate(owning: x509)
                if certificate.thumbprint != chain[0].thumbprint { chain.append(certificate) }
            }
        }
        return facts(for: chain, now: now)
    }

    /// The checks on an already-decoded chain (leaf first).
    public func facts(for chain: [X509Certificate], now: Date = Date()) -> PeerCertificateCheck {
        let leaf = chain[0]
        var failure: String?
        let validation = validator.validate(chain, at: now)
        switch validation.status {
        case .valid where validation.rootCAType == .none:
            failure = "self-signed certificate, not issued by a trusted partner CA"
        case .valid:
            let usages = leaf.extendedKeyUsage
            if !usages.isEmpty && !usages.contains(where: { $0.contains("1.3.6.1.5.5.7.3.2") || $0.contains("1.3.6.1.5.5.7.3.1") }) {
                failure = "extended key usage allows neither TLS client nor server authentication (\(usages.joined(separator: ", ")))"
            }
        case .expired:
            failure = "expired: \(validation.reason ?? "")"
        case .notYetValid:
            failure = "not yet valid: \(validation.reason ?? "")"
        case .revoked:
            failure = "revoked by its CA (CRL): \(validation.reason ?? "")"
        case .untrusted, .pendingRequest:
            failure = "untrusted issuer: \(validation.reason ?? "chain does not reach a trusted partner root")"
        }
        return PeerCertificateCheck(subject: leaf.subject, issuer: leaf.issuer, thumbprint: leaf.thumbprint.hex,
                                      names: leaf.certificateDomains, failure: failure)
    }
}

/// The outcome of checking a client certificate: who it names and, when it
/// failed, the precise reason.
public struct PeerCertificateCheck: Sendable, Equatable {
    public var subject: String
    public var issuer: String
    public var thumbprint: String
    public var names: [String]
    public var failure: String?
}
