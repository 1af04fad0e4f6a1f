import Foundation
internal import COpenSSL
internal import CShims

/// Status, Exchange's values (DESIGN.md's certificate properties).
public enum CertificateStatus: String, Codable, Sendable, CaseIterable {
    case valid = "Valid", expired = "Expired", notYetValid = "NotYetValid", untrusted = "Untrusted",
         revoked = "Revoked", pendingRequest = "PendingRequest"
}

/// RootCAType, Exchange's values: where the chain of trust ends.
public enum RootCAType: String, Codable, Sendable {
    case thirdParty = "ThirdParty"   // chains to a system root
    case enterprise = "Enterprise"   // chains to a root in the trusted folder
    case none = "None"               // self-signed
    case unknown = "Unknown"         // chain does not reach a trusted root
}

/// Which roots and CRLs a `CertificateValidator` trusts.
public struct TrustSettings: Sendable {
    public var useSystemRoots: Bool
    public var trustedDirectory: String?
    public var crlDirectory: String?
    /// When true, a certificate whose issuer published no CRL here is untrusted.
    public var requireCRL: Bool

    public init(useSystemRoots: Bool = true, trustedDirectory: String? = nil, crlDirectory: String? = nil,
                requireCRL: Bool = false) {
        self.useSystemRoots = useSystemRoots
        self.trustedDirectory = trustedDirectory
        self.crlDirectory = crlDirectory
        self.requireCRL = requireCRL
    }
}

/// The outcome of validating one certificate chain: a result, not an error.
public struct CertificateValidation: Sendable {
    public var status: CertificateStatus
    public var rootCAType: RootCAType
    /// OpenSSL's verify error text, or "expired on <date>"; nil when valid.
    public var reason: String?
    /// The chain as built, leaf first, root last when trusted.
    public var chain: [X509Certificate]
}

/// Validates certificate chains (Status and RootCAType of `cert list`, partner
/// certificates of domain security) against the system roots, the trusted folder
/// and the CRL folder. Owns an `X509_STORE` built once in `init` and never changed
/// afterwards; each `validate` uses its own `X509_STORE_CTX`, and OpenSSL locks the
/// store's lazy lookups, so one validator may serve every thread
/// (`@unchecked Sendable`). `init` reads files: call it off the event loops.
public final class CertificateValidator: @unchecked Sendable {
    private let store: OpaquePointer
    /// Thumbprints of the certificates loaded from the trusted folder.
    private let enterpriseCertificates: Set<Thumbprint>
    private let hasCRLs: Bool
    private let requireCRL: Bool
    /// Files that could not be used; never fatal for the others.
    public let problems: [CertificateProblem]

    public init(trust: TrustSettings) throws {
        OpenSSLError.clear()
        guard let store = X509_STORE_new() else { throw OpenSSLError.drain("creating certificate store") }
        self.store = store
        requireCRL = trust.requireCRL
        var problems: [CertificateProblem] = []

        if trust.useSystemRoots && X509_STORE_set_default_paths(store) != 1 {
            throw OpenSSLError.drain("loading the system's trusted roots")
        }

        var enterprise = Set<Thumbprint>()
        if let directory = trust.trustedDirectory {
            for path in Self.files(in: directory, suffixes: [".pem", ".crt"], problems: &problems) {
                do {
                    for certificate in try X509Certificate.loadAll(pem: try CertificateStore.read(path)) {
                        OpenSSLError.clear()
                        guard certificate.withUnsafeX509Pointer({ X509_STORE_add_cert(store, $0) }) == 1 else {
                            throw OpenSSLError.drain("adding \(certificate.subject) to the trusted roots")
                        }
                        enterprise.insert(certificate.thumbprint)
                    }
                } catch {
                    problems.append(CertificateProblem(path: path, reason: "\(error)"))
                }
            }
        }
        enterpriseCertificates = enterprise

        var crlCount = 0
        if let directory = trust.crlDirectory {
            for path in Self.files(in: directory, suffixes: [".pem", ".crl"], problems: &problems) {
                do {
                    let crls = try Self.loadCRLs(try CertificateStore.read(path))
                    defer { crls.forEach { X509_CRL_free($0) } }
                    for crl in crls {
                        OpenSSLError.clear()
                        guard X509_STORE_add_crl(store, crl) == 1 else { throw OpenSSLError.drain("adding CRL") }
                        crlCount += 1
                    }
                } catch {
                    problems.append(CertificateProblem(path: path, reason: "\(error)"))
                }
            }
        }
        hasCRLs = crlCount > 0
        self.problems = problems
    }

    deinit { X509_STORE_free(store) }

    /// Validates `chain` (leaf first, then any intermediates the peer or the file
    /// supplied) as of `date`. Never throws: every failure is a status with a reason.
    public func validate(_ chain: [X509Certificate], at date: Date = Date()) -> CertificateValidation {
        guard let leaf = chain.first else {
            return CertificateValidation(status: .untrusted, rootCAType: .unknown, reason: "no certificate", chain: [])
        }
        // Time first: an expired certificate is "Expired" whatever its chain.
        if date < leaf.notBefore {
            return CertificateValidation(status: .notYetValid, rootCAType: .unknown,
                                         reason: "not valid before \(Self.format(leaf.notBefore))", chain: chain)
        }
        if date > leaf.notAfter {
            return CertificateValidation(status: .expired, rootCAType: .unknown,
                                         reason: "expired on \(Self.format(leaf.notAfter))", chain: chain)
        }

        let outcome = verify(chain, at: date)
        switch outcome {
        case .trusted(let built):
            let root = built.last ?? leaf
            return CertificateValidation(status: .valid,
                                         rootCAType: enterpriseCertificates.contains(root.thumbprint) ? .enterprise : .thirdParty,
                                         reason: nil, chain: built)
        case .failed(let error, let reason, let built):
            // Exchange counts its own self-signed certificates as valid; only one
            // that is itself a trusted root (handled above) gets a root type.
            if leaf.isSelfSigned {
                return CertificateValidation(status: .valid, rootCAType: .none, reason: nil, chain: [leaf])
            }
            let status: CertificateStatus = error == X509_V_ERR_CERT_REVOKED ? .revoked : .untrusted
            return CertificateValidation(status: status, rootCAType: .unknown, reason: reason,
                                         chain: built.isEmpty ? chain : built)
        }
    }

    private enum Outcome {
        case trusted([X509Certificate])
        case failed(error: Int32, reason: String, chain: [X509Certificate])
    }

    /// One `X509_verify_cert` run with `chain[1...]` as untrusted intermediates.
    private func verify(_ chain: [X509Certificate], at date: Date) -> Outcome {
        OpenSSLError.clear()
        defer { ERR_clear_error() }
        guard let context = X509_STORE_CTX_new() else {
            return .failed(error: X509_V_ERR_OUT_OF_MEM, reason: "out of memory", chain: [])
        }
        defer { X509_STORE_CTX_free(context) }
        // The stack borrows the X509 pointers: free only the stack, and keep the
        // Swift owners alive until verification is over.
        guard let untrusted = OPENSSL_sk_new_null() else {
            return .failed(error: X509_V_ERR_OUT_OF_MEM, reason: "out of memory", chain: [])
        }
        defer { OPENSSL_sk_free(untrusted) }
        return withExtendedLifetime(chain) {
            for certificate in chain.dropFirst() {
                certificate.withUnsafeX509Pointer { _ = OPENSSL_sk_push(untrusted, UnsafeRawPointer($0)) }
            }
            let initialised = chain[0].withUnsafeX509Pointer { X509_STORE_CTX_init(context, store, $0, untrusted) }
            guard initialised == 1 else {
                return .failed(error: X509_V_ERR_UNSPECIFIED, reason: "cannot start verification", chain: [])
            }
            X509_STORE_CTX_set_time(context, 0, time_t(date.timeIntervalSince1970))
            if hasCRLs || requireCRL {
                X509_STORE_CTX_set_flags(context, UInt(X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL))
                if requireCRL {
                    X509_STORE_CTX_set_verify_cb(context, acceptMissingRootCRL)
                } else {
                    X509_STORE_CTX_set_verify_cb(context, acceptMissingCRL)
                }
            }
            let verified = X509_verify_cert(context) == 1
            let built = Self.builtChain(context)
            if verified { return .trusted(built) }
            let error = X509_STORE_CTX_get_error(context)
            var reason = String(cString: X509_verify_cert_error_string(Int(error)))
            if let current = X509_STORE_CTX_get_current_cert(context) {
                reason += " (depth \(X509_STORE_CTX_get_error_depth(context)): "
                    + X509Certificate.nameString(X509_get_subject_name(current)) + ")"
            }
            return .failed(error: error, reason: reason, chain: built)
        }
    }

    /// The chain OpenSSL built (complete on success, partial on failure).
    private static func builtChain(_ context: OpaquePointer) -> [X509Certificate] {
        // get1 takes a reference on every certificate: each Swift owner adopts one,
        // and only the stack itself is freed.
        guard let stack = X509_STORE_CTX_get1_chain(context) else { return [] }
        defer { OPENSSL_sk_free(stack) }
        return (0..<OPENSSL_sk_num(stack)).compactMap { index in
            OPENSSL_sk_value(stack, index).map { X509Certificate(owning: OpaquePointer($0)) }
        }
    }

    /// Every CRL in a PEM file (several allowed), or the single CRL of a DER file.
    private static func loadCRLs(_ bytes: [UInt8]) throws -> [OpaquePointer] {
        OpenSSLError.clear()
        var crls: [OpaquePointer] = []
        withMemoryBIO(bytes) { bio in
            while let crl = PEM_read_bio_X509_CRL(bio, nil, nil, nil) { crls.append(crl) }
        }
        if !crls.isEmpty {
            // Reading stops with "no start line" at the end of input; anything else
            // after the last good CRL is damage.
            let last = ERR_peek_last_error()
            if last != 0 && ERR_GET_REASON(last) != PEM_R_NO_START_LINE {
                crls.forEach { X509_CRL_free($0) }
                throw OpenSSLError.drain("reading PEM CRL")
            }
            return crls
        }
        OpenSSLError.clear()
        guard let crl = withMemoryBIO(bytes, { d2i_X509_CRL_bio($0, nil) }) else {
            throw OpenSSLError.drain("reading CRL (neither PEM nor DER)")
        }
        return [crl]
    }

    /// Files of `directory` with one of `suffixes`, sorted so problems come out in a
    /// stable order; a folder that does not exist is simply empty (trusted roots and
    /// CRLs are optional), one that cannot be read is a problem.
    private static func files(in directory: String, suffixes: [String], problems: inout [CertificateProblem]) -> [String] {
        guard FileManager.default.fileExists(atPath: directory) else { return [] }
        do {
            return try FileManager.default.contentsOfDirectory(atPath: directory)
                .filter { name in suffixes.contains { name.lowercased().hasSuffix($0) } }
                .sorted()
                .map { "\(directory)/\($0)" }
        } catch {
            problems.append(CertificateProblem(path: directory, reason: "cannot read folder: \(error.localizedDescription)"))
            return []
        }
    }

    private static func format(_ date: Date) -> String {
        ISO8601DateFormatter().string(from: date)
    }
}

/// Verify callback when CRLs are optional: an issuer that published no CRL here is
/// not an error. Clears the error so a later success reports no stale code.
private func acceptMissingCRL(_ ok: Int32, _ context: OpaquePointer?) -> Int32 {
    if ok == 0, let context, X509_STORE_CTX_get_error(context) == X509_V_ERR_UNABLE_TO_GET_CRL {
        X509_STORE_CTX_set_error(context, X509_V_OK)
        return 1
    }
    return ok
}

/// Verify callback when CRLs are required: only the trust anchor itself (which no
/// CRL of its own issuer can revoke) may lack one.
private func acceptMissingRootCRL(_ ok: Int32, _ context: OpaquePointer?) -> Int32 {
    if ok == 0, let context, X509_STORE_CTX_get_error(context) == X509_V_ERR_UNABLE_TO_GET_CRL,
       let chain = X509_STORE_CTX_get0_chain(context),
       X509_STORE_CTX_get_error_depth(context) == OPENSSL_sk_num(chain) - 1,
       let anchor = OPENSSL_sk_value(chain, OPENSSL_sk_num(chain) - 1),
       X509_check_issued(OpaquePointer(anchor), OpaquePointer(anchor)) == X509_V_OK {
        X509_STORE_CTX_set_error(context, X509_V_OK)
        return 1
    }
    return ok
}
