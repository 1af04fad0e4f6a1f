import Glibc

/// Plaintext commands of the STARTTLS preludes, built once.
let ehloCommand: [UInt8] = Array("EHLO bench.invalid\r\n".utf8)
let smtpStartTLSCommand: [UInt8] = Array("STARTTLS\r\n".utf8)
let imapStartTLSCommand: [UInt8] = Array("a STARTTLS\r\n".utf8)
let pop3STLSCommand: [UInt8] = Array("STLS\r\n".utf8)

/// What a connection asks of its loop once it can make no more progress.
enum ConnectionStep {
    case wantRead
    case wantWrite
    case succeeded
    case failed(String)
}

enum ConnectionPhase: String {
    case closed, connecting, prelude = "STARTTLS prelude", preludeWrite = "prelude write"
    case handshaking = "TLS handshake", greeting = "greeting", ticketProbe = "ticket probe", held
}

/// Shared, per-loop state a connection needs: the TLS context, the address, and
/// the most recent resumable session. Owned by one LoadLoop, single-threaded.
final class ConnectionEnvironment {
    let config: BenchConfig
    let context: ClientTLSContext
    let address: UnsafeMutableRawPointer
    let addressLength: socklen_t
    let family: Int32
    var latestSession: TLSSession?

    init(config: BenchConfig, context: ClientTLSContext) {
        self.config = config
        self.context = context
        let target = config.target
        address = UnsafeMutableRawPointer.allocate(byteCount: MemoryLayout<sockaddr_in6>.size,
                                                   alignment: MemoryLayout<sockaddr_in6>.alignment)
        if target.isIPv6 {
            var sa = sockaddr_in6()
            sa.sin6_family = sa_family_t(AF_INET6)
            sa.sin6_port = target.port.bigEndian
            withUnsafeMutableBytes(of: &sa.sin6_addr) { $0.copyBytes(from: target.bytes) }
            address.storeBytes(of: sa, as: sockaddr_in6.self)
            addressLength = socklen_t(MemoryLayout<sockaddr_in6>.size)
            family = AF_INET6
        } else {
            var sa = sockaddr_in()
            sa.sin_family = sa_family_t(AF_INET)
            sa.sin_port = target.port.bigEndian
            withUnsafeMutableBytes(of: &sa.sin_addr) { $0.copyBytes(from: target.bytes) }
            address.storeBytes(of: sa, as: sockaddr_in.self)
            addressLength = socklen_t(MemoryLayout<sockaddr_in>.size)
            family = AF_INET
        }
    }

    deinit { address.deallocate() }
}

/// One client connection of the load generator, as a small state machine:
/// connect, optional plaintext STARTTLS prelude, TLS handshake, then the greeting
/// or a short ticket probe. Owned by one LoadLoop and reused for successive
/// connections so the hot loop allocates nothing on the Swift side.
final class BenchConnection {
    private(set) var fd: Int32 = -1
    private(set) var phase: ConnectionPhase = .closed
    private(set) var startNanos: UInt64 = 0
    private(set) var handshakeNanos: UInt64 = 0
    /// When the first line after TLS arrived (0 when none was read).
    private(set) var greetingNanos: UInt64 = 0
    private(set) var deadlineNanos: UInt64 = 0
    private(set) var tls: ClientTLSConnection?
    /// Current poll(2) interest (POLLIN/POLLOUT), managed by the loop.
    var interest: Int16 = 0

    private let env: ConnectionEnvironment
    private let buffer: UnsafeMutableRawBufferPointer
    private var buffered = 0
    private var step = 0
    private var command: [UInt8] = []
    private var written = 0
    private var probeDeadline: UInt64 = 0

    init(env: ConnectionEnvironment) {
        self.env = env
        buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 16)
    }

    deinit {
        close()
        buffer.deallocate()
    }

    /// Starts a non-blocking connect; the loop then waits for writability.
    func open(now: UInt64) -> ConnectionStep {
        startNanos = now
        deadlineNanos = now &+ env.config.timeoutNanos
        buffered = 0
        step = 0
        greetingNanos = 0
        phase = .connecting
        fd = socket(env.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        if fd < 0 { return .failed("socket: \(errnoText(errno))") }
        var one: Int32 = 1
        _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        let rc = connect(fd, env.address.assumingMemoryBound(to: sockaddr.self), env.addressLength)
        if rc == 0 || errno == EINPROGRESS { return .wantWrite }
        return .failed("connect: \(errnoText(errno))")
    }

    /// Makes all the progress the socket allows; called on every readiness event.
    func advance() -> ConnectionStep {
        while true {
            switch phase {
            case .closed:
                return .failed("internal: event on a closed connection")
            case .connecting:
                var error: Int32 = 0
                var length = socklen_t(MemoryLayout<Int32>.size)
                _ = getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
                if error == EINPROGRESS || error == EALREADY { return .wantWrite }
                if error != 0 { return .failed("connect: \(errnoText(error))") }
                if env.config.mode.hasPrelude {
                    phase = .prelude
                } else if case .failed(let reason) = beginTLS() {
                    return .failed(reason)
                }
            case .prelude:
                switch takeReplies() {
                case .needMore:
                    let free = buffer.count - buffered
                    if free == 0 { return .failed("prelude: server line longer than \(buffer.count) bytes") }
                    let n = recv(fd, buffer.baseAddress! + buffered, free, 0)
                    if n > 0 { buffered += n; continue }
                    if n == 0 { return .failed("prelude: server closed the connection (step \(step))") }
                    if errno == EAGAIN || errno == EWOULDBLOCK { return .wantRead }
                    if errno == EINTR { continue }
                    return .failed("prelude recv: \(errnoText(errno))")
                case .send(let next):
                    command = next
                    written = 0
                    phase = .preludeWrite
                case .startTLS:
                    if buffered > 0 { return .failed("prelude: server sent \(buffered) bytes after its STARTTLS reply") }
                    if case .failed(let reason) = beginTLS() { return .failed(reason) }
                case .failed(let reason):
                    return .failed(reason)
                }
            case .preludeWrite:
                let n = command.withUnsafeBytes { bytes in
                    send(fd, bytes.baseAddress! + written, bytes.count - written, Int32(MSG_NOSIGNAL))
                }
                if n > 0 {
                    written += n
                    if written == command.count { phase = .prelude; step += 1 }
                    continue
                }
                if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { return .wantWrite }
                if n < 0 && errno == EINTR { continue }
                return .failed("prelude send: \(errnoText(errno))")
            case .handshaking:
                switch tls!.handshake() {
                case .done:
                    handshakeNanos = monotonicNanos()
                    if env.config.readsGreetingAfterTLS {
                        phase = .greeting
                        buffered = 0
                    } else if env.config.resume && env.config.tls13 && !tls!.sessionResumable {
                        phase = .ticketProbe
                        probeDeadline = handshakeNanos &+ env.config.ticketProbeNanos
                    } else {
                        return complete()
                    }
                case .wantRead: return .wantRead
                case .wantWrite: return .wantWrite
                case .failed(let reason): return .failed(reason)
                case .closed, .data: return .failed("TLS handshake: unexpected state")
                }
            case .greeting:
                let free = buffer.count - buffered
                if free == 0 { return .failed("greeting: first line longer than \(buffer.count) bytes") }
                switch tls!.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[buffered...])) {
                case .data(let n):
                    let start = buffered
                    buffered += n
                    if let end = lineEnd(from: start) {
                        if isRefusal(lineStart: 0, end: end) {
                            return .failed("greeting refused: \(lineText(0, end))")
                        }
                        greetingNanos = monotonicNanos()
                        return complete()
                    }
                case .wantRead: return .wantRead
                case .wantWrite: return .wantWrite
                case .closed: return .failed("greeting: server closed the connection after the handshake")
                case .failed(let reason): return .failed("greeting: \(reason)")
                case .done: return .failed("greeting: unexpected state")
                }
            case .ticketProbe:
                switch tls!.read(into: buffer) {
                case .data: continue
                case .wantRead:
                    if tls!.sessionResumable || monotonicNanos() >= probeDeadline { return complete() }
                    return .wantRead
                case .wantWrite: return .wantWrite
                default: return complete()  // the handshake itself succeeded
                }
            case .held:
                switch tls!.read(into: buffer) {
                case .data: continue
                case .wantRead: return .wantRead
                case .wantWrite: return .wantWrite
                case .closed: return .failed("server closed an idle connection")
                case .failed(let reason): return .failed("idle connection: \(reason)")
                case .done: return .wantRead
                }
            }
        }
    }

    /// Checked by the loop's periodic scan: ends ticket probes and times out stalls.
    func checkDeadline(now: UInt64) -> ConnectionStep? {
        if phase == .ticketProbe && now >= probeDeadline { return complete() }
        if phase != .held && phase != .closed && now >= deadlineNanos {
            return .failed("timeout after \(env.config.timeoutNanos / 1_000_000_000) s in \(phase.rawValue)")
        }
        return nil
    }

    /// Keeps a completed connection open and idle (hold mode).
    func hold() { phase = .held }

    /// Closes the socket and frees the SSL; a successful connection says close_notify first.
    func close(polite: Bool = false) {
        if polite { tls?.sendCloseNotify() }
        tls = nil
        if fd >= 0 { _ = Glibc.close(fd) }
        fd = -1
        phase = .closed
        interest = 0
    }

    private func beginTLS() -> ConnectionStep {
        let session = env.config.resume ? env.latestSession : nil
        switch env.context.makeConnection(fd: fd, session: session) {
        case .success(let connection):
            tls = connection
            phase = .handshaking
            return .wantWrite
        case .failure(let error):
            return .failed(error.description)
        }
    }

    private func complete() -> ConnectionStep {
        if env.config.resume, let tls, tls.sessionResumable {
            env.latestSession = tls.copySession()
        }
        return .succeeded
    }

    // MARK: - Prelude replies

    private enum PreludeOutcome {
        case needMore
        case send([UInt8])
        case startTLS
        case failed(String)
    }

    /// Consumes complete reply lines from the buffer and decides the next move.
    private func takeReplies() -> PreludeOutcome {
        while let end = lineEnd(from: 0) {
            let outcome = evaluate(end: end)
            let consumed = end + 1
            if consumed < buffered {
                memmove(buffer.baseAddress!, buffer.baseAddress! + consumed, buffered - consumed)
            }
            buffered -= consumed
            if let outcome { return outcome }
        }
        return .needMore
    }

    /// Judges the line buffer[0..<end]; nil means "more lines belong to this reply".
    private func evaluate(end: Int) -> PreludeOutcome? {
        let mode = env.config.mode
        switch mode {
        case .starttlsSMTP:
            guard end >= 3 else { return .failed("SMTP: malformed reply '\(lineText(0, end))'") }
            if end > 3 && buffer[3] == UInt8(ascii: "-") { return nil }
            let expected: [UInt8] = step == 1 ? [0x32, 0x35, 0x30] : [0x32, 0x32, 0x30]  // 250 / 220
            guard buffer[0] == expected[0], buffer[1] == expected[1], buffer[2] == expected[2] else {
                return .failed("SMTP step \(step): expected \(String(decoding: expected, as: UTF8.self)), got '\(lineText(0, end))'")
            }
            switch step {
            case 0: return .send(ehloCommand)
            case 1: return .send(smtpStartTLSCommand)
            default: return .startTLS
            }
        case .starttlsIMAP:
            if step == 0 {
                return hasPrefix("* OK", end: end) ? .send(imapStartTLSCommand)
                    : .failed("IMAP: expected '* OK' greeting, got '\(lineText(0, end))'")
            }
            if hasPrefix("* ", end: end) { return nil }  // untagged data before the tagged reply
            return hasPrefix("a OK", end: end) ? .startTLS
                : .failed("IMAP: STARTTLS refused: '\(lineText(0, end))'")
        case .starttlsPOP3:
            guard hasPrefix("+OK", end: end) else {
                return .failed("POP3 step \(step): expected +OK, got '\(lineText(0, end))'")
            }
            return step == 0 ? .send(pop3STLSCommand) : .startTLS
        case .implicit:
            return .failed("internal: prelude in implicit mode")
        }
    }

    private func lineEnd(from start: Int) -> Int? {
        var i = start
        while i < buffered {
            if buffer[i] == 0x0A { return i }
            i += 1
        }
        return nil
    }

    private func hasPrefix(_ prefix: StaticString, end: Int) -> Bool {
        let count = prefix.utf8CodeUnitCount
        guard end >= count else { return false }
        let p = prefix.utf8Start
        for i in 0..<count where buffer[i] != p[i] { return false }
        return true
    }

    /// A greeting that turns the client away (limits, maintenance) is a failure.
    private func isRefusal(lineStart: Int, end: Int) -> Bool {
        guard end > 0 else { return false }
        let first = buffer[0]
        return first == UInt8(ascii: "4") || first == UInt8(ascii: "5")
            || hasPrefix("-ERR", end: end) || hasPrefix("* BYE", end: end)
    }

    private func lineText(_ start: Int, _ end: Int) -> String {
        var stop = end
        if stop > start && buffer[stop - 1] == 0x0D { stop -= 1 }
        stop = min(stop, start + 120)
        return String(decoding: UnsafeRawBufferPointer(rebasing: buffer[start..<stop]), as: UTF8.self)
    }
}
