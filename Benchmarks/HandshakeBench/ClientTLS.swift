internal import COpenSSL
internal import CShims
import Glibc

/// The client-side SSL_CTX of one load thread: version pinned, no certificate
/// verification (loopback benchmarking only), the requested ciphers, groups and
/// signature algorithms. Owned by one LoadLoop; built and used on its thread.
final class ClientTLSContext {
    private let ctx: OpaquePointer
    /// strdup'd once so SNI costs no Swift allocation per connection.
    private let serverName: UnsafeMutablePointer<CChar>?

    init(config: BenchConfig) throws(BenchError) {
        ERR_clear_error()
        guard let ctx = SSL_CTX_new(TLS_client_method()) else {
            throw BenchError("SSL_CTX_new failed: \(drainOpenSSLErrors())")
        }
        self.ctx = ctx
        self.serverName = config.serverName.map { strdup($0) }
        let version = config.tls13 ? TLS1_3_VERSION : TLS1_2_VERSION
        guard cshim_SSL_CTX_set_min_proto_version(ctx, version) == 1,
              cshim_SSL_CTX_set_max_proto_version(ctx, version) == 1 else {
            throw BenchError("cannot pin the TLS version: \(drainOpenSSLErrors())")
        }
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nil)
        if let list = config.cipherList {
            ERR_clear_error()
            guard SSL_CTX_set_cipher_list(ctx, list) == 1 else {
                throw BenchError("--cipher '\(list)' rejected: \(drainOpenSSLErrors())")
            }
        }
        if let suites = config.cipherSuites {
            ERR_clear_error()
            guard SSL_CTX_set_ciphersuites(ctx, suites) == 1 else {
                throw BenchError("--ciphersuites '\(suites)' rejected: \(drainOpenSSLErrors())")
            }
        }
        ERR_clear_error()
        guard cshim_SSL_CTX_set1_groups_list(ctx, config.groups) == 1 else {
            throw BenchError("--groups '\(config.groups)' rejected: \(drainOpenSSLErrors())")
        }
        if let sigalgs = config.sigalgs {
            ERR_clear_error()
            // SSL_CTX_set1_sigalgs_list is a macro; the ctrl copies the string.
            let ok = sigalgs.withCString {
                SSL_CTX_ctrl(ctx, SSL_CTRL_SET_SIGALGS_LIST, 0, UnsafeMutableRawPointer(mutating: $0))
            }
            guard ok == 1 else {
                throw BenchError("--sigalgs '\(sigalgs)' rejected: \(drainOpenSSLErrors())")
            }
        }
    }

    deinit {
        SSL_CTX_free(ctx)
        free(serverName)
    }

    /// A new client SSL over a connected socket, offering `session` when given.
    func makeConnection(fd: Int32, session: TLSSession?) -> Result<ClientTLSConnection, BenchError> {
        ERR_clear_error()
        guard let ssl = SSL_new(ctx) else {
            return .failure(BenchError("SSL_new failed: \(drainOpenSSLErrors())"))
        }
        let connection = ClientTLSConnection(owning: ssl)
        guard SSL_set_fd(ssl, fd) == 1 else {
            return .failure(BenchError("SSL_set_fd failed: \(drainOpenSSLErrors())"))
        }
        SSL_set_connect_state(ssl)
        if let serverName {
            // SSL_set_tlsext_host_name is a macro; the ctrl copies the name.
            _ = SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, Int(TLSEXT_NAMETYPE_host_name), serverName)
        }
        if let session {
            session.withSessionPointer { _ = SSL_set_session(ssl, $0) }
        }
        return .success(connection)
    }
}

/// A TLS session (with its ticket) kept to resume the next connection.
/// Owned by the LoadLoop's environment; replaced as newer tickets arrive.
final class TLSSession {
    private let session: OpaquePointer

    /// Takes over one reference (from SSL_get1_session).
    fileprivate init(owning session: OpaquePointer) { self.session = session }
    deinit { SSL_SESSION_free(session) }

    fileprivate func withSessionPointer<T>(_ body: (OpaquePointer) -> T) -> T { body(session) }
}

/// Result of driving a client handshake or read one step.
enum TLSProgress {
    case done
    case data(Int)
    case wantRead
    case wantWrite
    case closed
    case failed(String)
}

/// What the first handshake negotiated, reported alongside the figures.
struct HandshakeFacts: Sendable {
    var version: String
    var cipher: String
    var group: String?
    var serverKey: String?
}

/// One client SSL of one benchmark connection; owned by that BenchConnection,
/// freed when it closes. Never leaves its load thread.
final class ClientTLSConnection {
    private let ssl: OpaquePointer

    fileprivate init(owning ssl: OpaquePointer) { self.ssl = ssl }
    deinit { SSL_free(ssl) }

    func handshake() -> TLSProgress {
        ERR_clear_error()
        let rc = SSL_do_handshake(ssl)
        if rc == 1 { return .done }
        return classify(rc, during: "handshake")
    }

    /// Reads decrypted bytes; also processes post-handshake messages (TLS 1.3 tickets).
    func read(into buffer: UnsafeMutableRawBufferPointer) -> TLSProgress {
        ERR_clear_error()
        let rc = SSL_read(ssl, buffer.baseAddress, Int32(clamping: buffer.count))
        if rc > 0 { return .data(Int(rc)) }
        return classify(rc, during: "read")
    }

    private func classify(_ rc: Int32, during what: String) -> TLSProgress {
        let savedErrno = errno
        switch SSL_get_error(ssl, rc) {
        case SSL_ERROR_WANT_READ: return .wantRead
        case SSL_ERROR_WANT_WRITE: return .wantWrite
        case SSL_ERROR_ZERO_RETURN: return .closed
        case SSL_ERROR_SYSCALL:
            let queued = drainOpenSSLErrors()
            if !queued.isEmpty { return .failed("TLS \(what): \(queued)") }
            if savedErrno == 0 || rc == 0 {
                return what == "read" ? .closed : .failed("TLS handshake: server closed the connection")
            }
            return .failed("TLS \(what): \(errnoText(savedErrno))")
        default:
            let queued = drainOpenSSLErrors()
            return .failed("TLS \(what): \(queued.isEmpty ? "unknown OpenSSL error" : queued)")
        }
    }

    var sessionReused: Bool { SSL_session_reused(ssl) == 1 }

    /// True once the current session can be offered again (for TLS 1.3: a ticket arrived).
    var sessionResumable: Bool {
        // SSL_get0_session is a macro alias of SSL_get_session (no reference taken).
        guard let session = SSL_get_session(ssl) else { return false }
        return SSL_SESSION_is_resumable(session) == 1
    }

    func copySession() -> TLSSession? {
        guard let session = SSL_get1_session(ssl) else { return nil }
        return TLSSession(owning: session)
    }

    /// Sends close_notify once without waiting for the peer's (a polite close).
    func sendCloseNotify() {
        ERR_clear_error()
        _ = SSL_shutdown(ssl)
        ERR_clear_error()
    }

    func facts() -> HandshakeFacts {
        let version = String(cString: SSL_get_version(ssl))
        let cipher = SSL_get_current_cipher(ssl).map { String(cString: SSL_CIPHER_get_name($0)) } ?? "unknown"
        // SSL_get_negotiated_group is a macro over SSL_ctrl.
        var group: String?
        let nid = SSL_ctrl(ssl, SSL_CTRL_GET_NEGOTIATED_GROUP, 0, nil)
        if nid > 0, nid & Int(TLSEXT_nid_unknown) == 0, let name = OBJ_nid2sn(Int32(nid)) {
            group = String(cString: name)
        }
        var serverKey: String?
        if let cert = SSL_get0_peer_certificate(ssl), let key = X509_get0_pubkey(cert) {
            let bits = EVP_PKEY_get_bits(key)
            switch EVP_PKEY_get_base_id(key) {
            case EVP_PKEY_RSA, EVP_PKEY_RSA_PSS: serverKey = "RSA-\(bits)"
            case EVP_PKEY_EC: serverKey = "ECC-\(bits)"
            case EVP_PKEY_ED25519: serverKey = "ED25519"
            case EVP_PKEY_ED448: serverKey = "ED448"
            default: serverKey = "\(String(cString: OBJ_nid2sn(EVP_PKEY_get_base_id(key))))-\(bits)"
            }
        }
        return HandshakeFacts(version: version, cipher: cipher, group: group, serverKey: serverKey)
    }
}

/// Empties OpenSSL's error queue into one line (failure paths only).
func drainOpenSSLErrors() -> String {
    var parts: [String] = []
    var buffer = [CChar](repeating: 0, count: 256)
    while true {
        let code = ERR_get_error()
        if code == 0 { break }
        ERR_error_string_n(code, &buffer, buffer.count)
        parts.append(buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })
    }
    return parts.joined(separator: "; ")
}
