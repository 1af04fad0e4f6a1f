internal import COpenSSL
internal import CShims

/// Puts the certificates of an imported file (PEM bundle, PKCS#12) into the order a
/// TLS server sends them: leaf, then each issuer in turn. Bundles from CAs and
/// tools come in any order and often carry extra certificates (a cross-signed root,
/// an old intermediate); those are dropped and named so the import can say so.
/// Pure function over immutable certificates: any thread.
public enum CertificateChainOrder {
    /// - Returns: the ordered chain and, when something was dropped or no leaf could
    ///   be found, a sentence for the administrator.
    public static func arrange(_ certificates: [X509Certificate], key: PrivateKey?) -> (chain: [X509Certificate], problem: String?) {
        var problems: [String] = []
        // Identical certificates (a bundle that repeats the intermediate) are not
        // "extras": keep the first silently.
        var seen = Set<Thumbprint>()
        let unique = certificates.filter { seen.insert($0.thumbprint).inserted }
        guard !unique.isEmpty else { return ([], "no certificate in the file") }

        let leaf: X509Certificate
        if let key {
            guard let match = unique.first(where: { $0.matches(key) }) else {
                return (certificates, "no certificate in the file matches the private key")
            }
            leaf = match
        } else {
            // Candidates issue no other certificate of the set. With unrelated extras
            // several qualify: the one with the longest path wins, then an end entity
            // over a CA, then file order.
            let candidates = unique.filter { candidate in
                !unique.contains { other in other !== candidate && issued(other, by: candidate) }
            }
            let ranked = (candidates.isEmpty ? unique : candidates).enumerated().map { index, candidate in
                (candidate, path(from: candidate, in: unique).count, candidate.basicConstraintsCA == true, index)
            }
            leaf = ranked.min { a, b in
                if a.1 != b.1 { return a.1 > b.1 }
                if a.2 != b.2 { return !a.2 }
                return a.3 < b.3
            }!.0
        }

        let chain = path(from: leaf, in: unique)
        let extras = unique.filter { candidate in !chain.contains { $0 === candidate } }
        if !extras.isEmpty {
            let names = extras.map { $0.subject.isEmpty ? $0.thumbprint.hex : $0.subject }
            problems.append("dropped \(extras.count) certificate\(extras.count == 1 ? "" : "s") not part of the chain of \(leaf.subject): "
                + names.joined(separator: "; "))
        }
        return (chain, problems.isEmpty ? nil : problems.joined(separator: "; "))
    }

    /// `start`, then its issuer, then that one's issuer, ... as far as `pool` goes;
    /// stops at a self-signed certificate and never visits a certificate twice.
    static func path(from start: X509Certificate, in pool: [X509Certificate]) -> [X509Certificate] {
        var chain = [start]
        var remaining = pool.filter { $0 !== start }
        var current = start
        while !current.isSelfSigned,
              let index = remaining.firstIndex(where: { issued(current, by: $0) }) {
            current = remaining.remove(at: index)
            chain.append(current)
        }
        return chain
    }

    /// True when `issuer` signed `subject`: OpenSSL's own issuer check (names, key
    /// identifiers, keyCertSign), or matching names and a signature that verifies
    /// (for old CA certificates without key usage or key identifiers).
    static func issued(_ subject: X509Certificate, by issuer: X509Certificate) -> Bool {
        issuer.withUnsafeX509Pointer { issuerX509 in
            subject.withUnsafeX509Pointer { subjectX509 in
                if X509_check_issued(issuerX509, subjectX509) == X509_V_OK { return true }
                guard X509_NAME_cmp(X509_get_issuer_name(subjectX509), X509_get_subject_name(issuerX509)) == 0,
                      let key = X509_get0_pubkey(issuerX509) else { return false }
                OpenSSLError.clear()
                defer { ERR_clear_error() }
                return X509_verify(subjectX509, key) == 1
            }
        }
    }
}
