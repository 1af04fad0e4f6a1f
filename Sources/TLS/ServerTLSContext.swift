internal import COpenSSL
internal import CShims
import Certificates
import Synchronization

/// Owns the server `SSL_CTX`s of one receive connector: the policy, and either one
/// certificate or a `CertificateSelector` whose decision the ClientHello callback
/// applies per handshake. Built once off the event loops and never mutated
/// afterwards; OpenSSL lets many threads create `SSL` objects from one `SSL_CTX`,
/// hence `@unchecked Sendable`.
public final class ServerTLSContext: @unchecked Sendable {
    /// The context every `SSL` starts from. With a selector it carries the ClientHello
    /// callback and is also the presentation context of `selector.likelyIndex`.
    private let context: OpaquePointer
    public let policy: TLSPolicy
    /// The certificate presented when no selector decides (and the fallback).
    public let certificate: StoredCertificate
    public let selector: CertificateSelector?
    /// With a selector: one context per selectable certificate, indexed like
    /// `selector.certificates`, configured exactly like `context` and holding only
    /// that certificate and its chain, checked against its key once, here. The
    /// ClientHello callback moves the `SSL` onto the chosen one (`SSL_set_SSL_CTX`,
    /// as nginx does for SNI), which replaces the `SSL`'s whole certificate set: no
    /// certificate of the other key type is left for TLS 1.3 to pick, and nothing is
    /// checked per handshake (`SSL_use_cert_and_key` compared key and certificate on
    /// every one: ~24 K instructions for an ECDSA key).
    private let presentations: [OpaquePointer]

    /// Session-ticket keys (shared by all connectors); nil = tickets off.
    public let tickets: TicketKeyRing?

    public convenience init(policy: TLSPolicy, certificate: StoredCertificate) throws(TLSSetupError) {
        try self.init(policy: policy, certificate: certificate, selector: nil,
                      tickets: policy.sessionTickets ? TicketKeyRing() : nil)
    }

    /// Presents `selector`'s choice per handshake; `certificate` is its no-SNI choice.
    /// Domain security: ask every client for a certificate, never fail the
    /// handshake over it (ordinary senders keep opportunistic TLS).
    public let requestsClientCertificate: Bool

    public init(policy: TLSPolicy, certificate: StoredCertificate, selector: CertificateSelector?, tickets: TicketKeyRing?,
                requestClientCertificate: Bool = false) throws(TLSSetupError) {
        OpenSSLError.clear()
        self.policy = policy
        self.certificate = certificate
        self.selector = selector
        self.tickets = policy.sessionTickets ? tickets : nil
        self.requestsClientCertificate = requestClientCertificate
        var made: [OpaquePointer] = []
        do {
            let settings = Settings(policy: policy, tickets: self.tickets != nil, requestClientCertificate: requestClientCertificate)
            if let selector {
                for stored in selector.certificates {
                    made.append(try settings.makeContext(presenting: stored))
                }
                if let likely = selector.likelyIndex {
                    context = made[likely]
                } else {
                    context = try settings.makeContext(presenting: nil)
                    made.append(context)
                }
            } else {
                context = try settings.makeContext(presenting: certificate)
                made.append(context)
            }
        } catch {
            made.forEach { SSL_CTX_free($0) }
            throw error
        }
        presentations = Array(made.prefix(selector?.certificates.count ?? 0))
        startUpServesExpired = selector?.choices.contains { $0.servedExpired } ?? false
        owned = made
        cipherNames = Self.ciphers(of: context).map { (UnsafeRawPointer($0.cipher), $0.name) }
        // Retain policy for the callbacks: passUnretained; this object owns the
        // SSL_CTXs and frees them in deinit, and an `SSL` that was moved onto one
        // holds its own reference, so every callback finds this object alive.
        for each in owned {
            SSL_CTX_set_ex_data(each, contextSelfIndex, Unmanaged.passUnretained(self).toOpaque())
        }
        if selector != nil {
            SSL_CTX_set_client_hello_cb(context, clientHelloCallback, Unmanaged.passUnretained(self).toOpaque())
        }
    }

    /// The enabled ciphers' names with their `SSL_CIPHER` addresses (OpenSSL's static
    /// table, shared by every context here), in preference order; made once.
    private let cipherNames: [(cipher: UnsafeRawPointer, name: String)]

    /// The negotiated version and cipher, for the session (its Received header),
    /// without making a String per connection: the version is a literal and the
    /// cipher's name comes from `cipherNames` (a cipher name is too long to be
    /// stored inline). A scan, not a hash lookup: the negotiated cipher is nearly
    /// always among the first few preferred, and hashing cost ~40 instruction-cache
    /// misses per connection (callgrind).
    package func negotiated(_ ssl: OpaquePointer) -> (version: String, cipher: String) {
        let version: String
        switch SSL_version(ssl) {
        case TLS1_3_VERSION: version = "TLSv1.3"
        case TLS1_2_VERSION: version = "TLSv1.2"
        default: version = String(cString: SSL_get_version(ssl))
        }
        guard let cipher = SSL_get_current_cipher(ssl) else { return (version, "unknown") }
        let address = UnsafeRawPointer(cipher)
        for entry in cipherNames where entry.cipher == address { return (version, entry.name) }
        return (version, String(cString: SSL_CIPHER_get_name(cipher)))
    }

    /// Every context this object created (`context` once, even when it is also a presentation).
    private let owned: [OpaquePointer]

    deinit { owned.forEach { SSL_CTX_free($0) } }

    /// Runs inside OpenSSL's ClientHello callback: no I/O, no parsing of files.
    fileprivate func chooseCertificate(for ssl: OpaquePointer) -> Bool {
        guard let selector else { return true }
        let hello = ClientHelloFacts(ssl: ssl, allowsTLS13: policy.maximumVersion == .tls13)
        guard let (choice, id) = selector.select(serverName: hello.serverName, clientOffersECDSA: hello.offersECDSAP256) else {
            return false
        }
        let target = presentations[choice.index]
        if SSL_get_SSL_CTX(ssl) != target {
            guard SSL_set_SSL_CTX(ssl, target) == target else { return false }
        }
        // The id (+1; 0 means none) tells the connection afterwards which decision
        // applied; a re-resolved one is negative: -(index + 1), or -(count + index + 1)
        // when it serves an expired certificate.
        let tag: Int
        if let id {
            tag = id + 1
        } else if choice.servedExpired {
            tag = -(selector.certificates.count + choice.index + 1)
            reResolvedExpired.store(true, ordering: .relaxed)
        } else {
            tag = -(choice.index + 1)
        }
        SSL_set_ex_data(ssl, handshakeChoiceIndex, UnsafeMutableRawPointer(bitPattern: tag))
        return true
    }

    /// Whether `selection(of:)` can report an expired certificate: a choice made at
    /// start-up serves one, or a handshake since re-resolved to one (a certificate
    /// expired while the server ran). When false, a connection need not look.
    package var mayServeExpired: Bool { startUpServesExpired || reResolvedExpired.load(ordering: .relaxed) }
    private let startUpServesExpired: Bool
    private let reResolvedExpired = Atomic<Bool>(false)

    /// Which certificate a finished handshake presented, and why.
    package func selection(of ssl: OpaquePointer) -> (thumbprint: Thumbprint, reason: String, servedExpired: Bool) {
        let tag = Int(bitPattern: SSL_get_ex_data(ssl, handshakeChoiceIndex))
        if let selector, tag > 0, tag <= selector.choices.count {
            let choice = selector.choices[tag - 1]
            return (selector.thumbprints[choice.index], choice.reason, choice.servedExpired)
        }
        if let selector, tag < 0, -tag <= 2 * selector.certificates.count {
            let count = selector.certificates.count, code = -tag - 1
            return (selector.thumbprints[code % count], "re-resolved at handshake time (validity changed since start-up)", code >= count)
        }
        return (certificate.thumbprint, "the connector's certificate", false)
    }

    /// Names of the TLS 1.2 ciphers (and 1.3 suites) this context will negotiate, in preference order.
    public var enabledCiphers: [String] { Self.ciphers(of: context).map(\.name) }

    /// The `SSL_CIPHER`s a context negotiates, in preference order, with their names.
    private static func ciphers(of context: OpaquePointer) -> [(cipher: OpaquePointer, name: String)] {
        guard let stack = SSL_CTX_get_ciphers(context) else { return [] }
        return (0..<cshim_sk_SSL_CIPHER_num(stack)).compactMap { index in
            cshim_sk_SSL_CIPHER_value(stack, index).map { ($0, String(cString: SSL_CIPHER_get_name($0))) }
        }
    }

    /// A new `SSL` for one accepted connection; the caller owns it (or hands it to libevent).
    package func makeSSL() -> OpaquePointer? { SSL_new(context) }
}

/// How every context of one connector is set up; `makeContext` applies it to a new
/// `SSL_CTX`, so the presentation contexts cannot drift from the one `SSL`s start on.
private struct Settings {
    let policy: TLSPolicy
    let tickets: Bool
    let requestClientCertificate: Bool

    /// A configured context presenting `certificate` (none: the ClientHello callback decides).
    func makeContext(presenting certificate: StoredCertificate?) throws(TLSSetupError) -> OpaquePointer {
        guard let context = SSL_CTX_new(TLS_server_method()) else {
            throw TLSSetupError(key: nil, message: "\(OpenSSLError.drain("SSL_CTX_new"))")
        }
        do {
            try configure(context, presenting: certificate)
            return context
        } catch {
            SSL_CTX_free(context)
            throw error
        }
    }

    private func configure(_ context: OpaquePointer, presenting certificate: StoredCertificate?) throws(TLSSetupError) {
        func fail(_ key: String?, _ what: String) -> TLSSetupError {
            TLSSetupError(key: key, message: "\(OpenSSLError.drain(what))")
        }
        let versions: (TLSPolicy.Version) -> Int32 = { $0 == .tls12 ? TLS1_2_VERSION : TLS1_3_VERSION }
        guard cshim_SSL_CTX_set_min_proto_version(context, versions(policy.minimumVersion)) == 1,
              cshim_SSL_CTX_set_max_proto_version(context, versions(policy.maximumVersion)) == 1 else {
            throw fail("tls.protocols", "setting protocol versions")
        }
        guard SSL_CTX_set_cipher_list(context, policy.ciphers + TLSPolicy.forbiddenSuffix) == 1 else {
            throw fail("tls.ciphers", "no usable cipher in \"\(policy.ciphers)\"")
        }
        guard SSL_CTX_set_ciphersuites(context, policy.ciphersuites) == 1 else {
            throw fail("tls.ciphersuites", "no usable suite in \"\(policy.ciphersuites)\"")
        }
        // AEAD only: a cipher string may name CBC suites; refuse rather than serve them.
        if let stack = SSL_CTX_get_ciphers(context) {
            for index in 0..<cshim_sk_SSL_CIPHER_num(stack) {
                guard let cipher = cshim_sk_SSL_CIPHER_value(stack, index), SSL_CIPHER_is_aead(cipher) != 1 else { continue }
                let name = String(cString: SSL_CIPHER_get_name(cipher))
                throw TLSSetupError(key: "tls.ciphers", message: "cipher \(name) is not an AEAD cipher; only AES-GCM and ChaCha20-Poly1305 are allowed")
            }
        }
        guard cshim_SSL_CTX_set1_groups_list(context, policy.groups) == 1 else {
            throw fail("tls.groups", "setting groups \(policy.groups)")
        }
        var options = cshim_SSL_OP_NO_COMPRESSION | cshim_SSL_OP_NO_RENEGOTIATION | cshim_SSL_OP_CIPHER_SERVER_PREFERENCE
        if !policy.sessionTickets { options |= cshim_SSL_OP_NO_TICKET }
        SSL_CTX_set_options(context, options)
        // Idle connections give their record buffers back; the channel writes
        // what fits and retries from its own (possibly moved) output buffer.
        _ = cshim_SSL_CTX_set_mode(context, cshim_SSL_MODE_RELEASE_BUFFERS | cshim_SSL_MODE_ENABLE_PARTIAL_WRITE
                                   | cshim_SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER)
        // One read(2) takes a whole flight (ClientHello, Finished, pipelined
        // commands) instead of a header read and a body read per record.
        _ = SSL_CTX_ctrl(context, SSL_CTRL_SET_READ_AHEAD, 1, nil)   // SSL_CTX_set_read_ahead is a macro
        _ = cshim_SSL_CTX_set_dh_auto(context, 1)
        // Resumption by tickets only: no server-side session cache to fill and lock.
        _ = cshim_SSL_CTX_set_session_cache_mode(context, cshim_SSL_SESS_CACHE_OFF)
        // One TLS 1.3 ticket per handshake instead of OpenSSL's two: half the work.
        _ = SSL_CTX_set_num_tickets(context, policy.sessionTickets ? 1 : 0)
        let sessionContext: [UInt8] = Array("mailedge".utf8)
        _ = SSL_CTX_set_session_id_context(context, sessionContext, UInt32(sessionContext.count))
        // Without a servername callback OpenSSL never acknowledges SNI (INTEROP.md).
        _ = cshim_SSL_CTX_set_tlsext_servername_callback(context, servernameCallback)

        // Only the chain we hand over is sent: OpenSSL would otherwise build one per
        // full handshake from the context's (empty) store with X509_verify_cert.
        _ = cshim_SSL_CTX_set_mode(context, cshim_SSL_MODE_NO_AUTO_CHAIN)
        if tickets {
            SSL_CTX_set_tlsext_ticket_key_evp_cb(context, ticketKeyCallback)
        }
        if requestClientCertificate {
            SSL_CTX_set_verify(context, SSL_VERIFY_PEER | SSL_VERIFY_CLIENT_ONCE, acceptAnyClientCertificate)
        }
        guard let certificate else { return }
        guard let key = certificate.key else {
            throw TLSSetupError(key: nil, message: "\(certificate.certificatePath): no private key")
        }
        let ok = certificate.leaf.withUnsafeX509Pointer { leaf in
            key.withUnsafeEVPPKEYPointer { pkey in
                withChainStack(certificate.chain.dropFirst()) { chain in
                    SSL_CTX_use_cert_and_key(context, leaf, pkey, chain, 1)
                }
            }
        }
        guard ok == 1, SSL_CTX_check_private_key(context) == 1 else {
            throw fail(nil, "\(certificate.certificatePath): loading certificate and key")
        }
    }
}

/// A TLS setting that cannot be applied, with the config key it came from.
public struct TLSSetupError: Error, Sendable, CustomStringConvertible {
    public var key: String?
    public var message: String
    public var description: String { key.map { "\($0): \(message)" } ?? message }
}

/// The chain is judged after the handshake by ClientCertificateVerifier, against the
/// partner roots and CRLs, so that a bad certificate gets SMTP's 4xx reply (the
/// sender queues and retries) instead of a failed handshake.
private func acceptAnyClientCertificate(_ preverified: Int32, _ store: OpaquePointer?) -> Int32 { 1 }

/// ex_data slot of the SSL_CTX that points back at its ServerTLSContext.
private let contextSelfIndex: Int32 = CRYPTO_get_ex_new_index(CRYPTO_EX_INDEX_SSL_CTX, 0, nil, nil, nil, nil)

/// Encrypts or decrypts a session ticket with the context's rotating keys.
private func ticketKeyCallback(_ ssl: OpaquePointer?, _ name: UnsafeMutablePointer<UInt8>?, _ iv: UnsafeMutablePointer<UInt8>?,
                               _ cipher: OpaquePointer?, _ mac: OpaquePointer?, _ encrypt: Int32) -> Int32 {
    guard let ssl, let name, let iv, let cipher, let mac,
          let raw = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), contextSelfIndex) else { return -1 }
    let context = Unmanaged<ServerTLSContext>.fromOpaque(raw).takeUnretainedValue()
    return context.tickets?.handle(name: name, iv: iv, cipher: cipher, mac: mac, encrypt: encrypt == 1) ?? 0
}

/// ex_data slot of the SSL where the ClientHello callback records its decision.
private let handshakeChoiceIndex: Int32 = CRYPTO_get_ex_new_index(CRYPTO_EX_INDEX_SSL, 0, nil, nil, nil, nil)

/// Picks the certificate for this handshake. Never throws, allocates only what
/// OpenSSL needs to move the SSL onto the chosen certificate's context, and fails
/// the handshake with an internal error alert when nothing can be presented.
private func clientHelloCallback(_ ssl: OpaquePointer?, _ alert: UnsafeMutablePointer<Int32>?, _ arg: UnsafeMutableRawPointer?) -> Int32 {
    guard let ssl, let arg else { return SSL_CLIENT_HELLO_ERROR }
    let context = Unmanaged<ServerTLSContext>.fromOpaque(arg).takeUnretainedValue()
    if context.chooseCertificate(for: ssl) { return SSL_CLIENT_HELLO_SUCCESS }
    alert?.pointee = SSL_AD_INTERNAL_ERROR
    return SSL_CLIENT_HELLO_ERROR
}

/// Acknowledges SNI; the certificate itself is chosen in the ClientHello callback.
private func servernameCallback(_ ssl: OpaquePointer?, _ alert: UnsafeMutablePointer<Int32>?, _ arg: UnsafeMutableRawPointer?) -> Int32 {
    SSL_TLSEXT_ERR_OK
}

private func withChainStack<R>(_ chain: ArraySlice<X509Certificate>, _ body: (OpaquePointer?) -> R) -> R {
    guard !chain.isEmpty, let stack = OPENSSL_sk_new_null() else { return body(nil) }
    defer { OPENSSL_sk_free(stack) }
    var holders: [X509Certificate] = []
    for certificate in chain {
        certificate.withUnsafeX509Pointer { _ = OPENSSL_sk_push(stack, UnsafeRawPointer($0)) }
        holders.append(certificate)
    }
    return withExtendedLifetime(holders) { body(stack) }
}
