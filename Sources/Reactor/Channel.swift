import Foundation
internal import CLibevent
internal import COpenSSL
internal import CShims
internal import Certificates

/// What a channel tells its owner, on the loop thread.
public protocol ChannelDelegate: AnyObject {
    /// Bytes arrived (plaintext, or decrypted under TLS). They live in the loop's
    /// read buffer: valid only during the call; the receiver copies what it keeps.
    func channel(_ channel: Channel, read bytes: UnsafeBufferPointer<UInt8>)
    func channel(_ channel: Channel, event: Channel.Event)
    /// Output that had to wait for the socket has all left.
    func channelDrained(_ channel: Channel)
}

/// One accepted connection's byte stream: the socket, plaintext or OpenSSL, driven
/// by plain libevent events (no bufferevent): a persistent read event, and a write
/// event made when a write first has to wait. Owned by its connection, used
/// only on its loop thread.
///
/// - Reading is level-triggered and persistent: one `epoll_ctl` when the connection
///   starts, none per read; a readiness report leads to one `read(2)` (OpenSSL with
///   read-ahead takes a whole flight in one), rarely to a read that only finds EAGAIN.
/// - Writing goes straight to the socket (or `SSL_write`); only what the kernel does
///   not take is kept, and a one-shot write event waits for room. Reading pauses
///   meanwhile: a client that does not read cannot make output grow, and a TLS
///   handshake waiting to write does not spin on a readable socket.
/// - STARTTLS keeps the socket and its read event and starts OpenSSL on it: bytes the
///   client pipelined after STARTTLS are never read as plaintext; OpenSSL reads them
///   as a (broken) ClientHello.
public final class Channel {
    public enum Event: Equatable {
        case tlsEstablished
        case closedByPeer
        case failed(String)
    }

    /// Who hears this channel: its connection, which owns it (hence not a strong
    /// reference; unowned, not weak: a weak one gives the connection a side table,
    /// one more allocation). One reference instead of three closures, each a context
    /// allocated per connection. Cleared by `close()`.
    public unowned var delegate: (any ChannelDelegate)?

    public let fd: Int32
    private unowned let loop: EventLoop
    private var readEvent: OpaquePointer?
    private var writeEvent: OpaquePointer?
    private var tls: OpaquePointer?
    private var handshaking = false
    private var reading = false
    private var readRegistered = false
    private var writeArmed = false
    /// Reading is paused while output waits for room: backpressure for a client
    /// that does not read, and no level-triggered spin while OpenSSL itself waits
    /// to write (it reads nothing until then).
    private var readPausedForWrite = false
    /// A fatal TLS error happened: no close_notify may follow (OpenSSL forbids it).
    private var fatalTLSError = false
    private var output: [UInt8] = []
    private var outputStart = 0
    public private(set) var isClosed = false
    /// The client closed (EOF or close_notify): no close_notify is sent back.
    private var peerClosed = false

    /// Bytes asked of one read(2) / SSL_read.
    static let readSize = 16_384

    /// A plaintext channel (STARTTLS connectors). When an initialiser throws, the
    /// socket is still the caller's to close.
    public init(loop: EventLoop, fd: Int32) throws {
        self.fd = fd
        self.loop = loop
        try makeEvents(loop)
        startReading()
    }

    /// A channel that starts with a TLS handshake (implicit TLS). Takes ownership of `ssl`.
    package init(loop: EventLoop, fd: Int32, acceptingTLS ssl: OpaquePointer) throws {
        self.fd = fd
        self.loop = loop
        do {
            try makeEvents(loop)
        } catch {
            SSL_free(ssl)
            throw error
        }
        do {
            try startTLS(ssl)
        } catch {
            isClosed = true   // the caller still owns (and closes) the fd
            throw error
        }
    }

    private func makeEvents(_ loop: EventLoop) throws {
        // Retain policy: passUnretained; the events are deleted in close() and
        // freed in deinit, so no callback outlives the channel.
        // The write event is made only when a write first has to wait (armWrite):
        // most connections never need one.
        let context = Unmanaged.passUnretained(self).toOpaque()
        readEvent = event_new(loop.base, fd, Int16(EV_READ | EV_PERSIST), channelCallback, context)
        guard readEvent != nil else {
            isClosed = true
            throw ReactorError(message: "event_new failed")
        }
    }

    /// STARTTLS: starts the server handshake on the same socket once the go-ahead
    /// has left. Takes ownership of `ssl`.
    package func upgradeToTLS(_ ssl: OpaquePointer) throws {
        guard !isClosed, tls == nil else {
            SSL_free(ssl)
            throw ReactorError(message: isClosed ? "connection closed" : "TLS already active")
        }
        try startTLS(ssl)
    }

    private func startTLS(_ ssl: OpaquePointer) throws {
        guard SSL_set_fd(ssl, fd) == 1 else {
            SSL_free(ssl)
            OpenSSLError.clear()
            throw ReactorError(message: "SSL_set_fd failed")
        }
        SSL_set_accept_state(ssl)
        tls = ssl
        handshaking = true
        // The ClientHello may already wait in the socket: level-triggered reading
        // reports it on the next loop turn.
        startReading()
    }

    private func startReading() {
        reading = true
        guard !readRegistered, let readEvent else { return }
        readRegistered = true
        event_add(readEvent, nil)
    }

    /// Implicit TLS on a deferred-accept socket: the ClientHello is normally already
    /// there, so the handshake starts now instead of after a loop turn (if it is
    /// not, OpenSSL's read finds EAGAIN and the read event takes over).
    public func startHandshakeNow() {
        guard handshaking, !isClosed else { return }
        continueHandshake()
    }

    /// Stops reading: bytes that arrive now stay in the socket, unread as plaintext.
    /// The read event stays registered (STARTTLS reads again right after its
    /// go-ahead: two epoll_ctl calls saved); it is removed only if bytes do arrive
    /// meanwhile, so a client that keeps sending cannot make the loop spin.
    public func stopReading() {
        reading = false
    }

    public func write(_ bytes: [UInt8]) {
        guard !isClosed, !bytes.isEmpty else { return }
        if outputStart == output.count {
            output = bytes
            outputStart = 0
        } else {
            output.append(contentsOf: bytes)
        }
        // During a handshake the bytes wait for it; a blocked socket for room.
        if !handshaking && !writeArmed { flush(fromEvent: false) }
    }

    /// Text goes straight from the String's bytes to the socket when nothing waits
    /// before it (no array is made of it); only what the socket does not take is kept.
    public func write(_ text: String) {
        guard !isClosed, !text.isEmpty else { return }
        guard outputStart == output.count, !handshaking, !writeArmed else {
            write(Array(text.utf8))   // behind what waits
            return
        }
        var text = text
        let stopped = text.withUTF8 { bytes -> SendResult? in
            let raw = UnsafeRawBufferPointer(bytes)
            let (sent, stopped) = send(all: raw)
            if stopped != nil {
                // Keep the rest, as `write([UInt8])` would have.
                output = Array(raw[sent...])
                outputStart = 0
            }
            return stopped
        }
        if let stopped { handle(stopped) }
    }

    public var pendingOutput: Int { output.count - outputStart }

    /// The OpenSSL connection once TLS is on, for reading what was negotiated.
    package var ssl: OpaquePointer? { tls }

    /// Closes now: a TLS close_notify is attempted, then the socket is closed.
    /// Unsent output is dropped. The close_notify also answers the client's own
    /// (RFC 5246 7.2.1: the other party MUST respond with a close_notify; RFC 8446
    /// 6.1: each party sends one before closing its write side). None goes out
    /// during the handshake, after a TLS error, or after a bare EOF (the client
    /// is gone and OpenSSL has failed the connection).
    public func close() {
        guard !isClosed else { return }
        isClosed = true
        delegate = nil
        if let readEvent, readRegistered { event_del(readEvent) }
        readRegistered = false
        if let writeEvent, writeArmed { event_del(writeEvent) }
        writeArmed = false
        reading = false
        if let ssl = tls {
            if !handshaking && !fatalTLSError
                && (!peerClosed || SSL_get_shutdown(ssl) & SSL_RECEIVED_SHUTDOWN != 0) {
                _ = SSL_shutdown(ssl)   // one non-blocking try at close_notify
            }
            OpenSSLError.clear()
            SSL_free(ssl)
            tls = nil
        }
        output = []
        outputStart = 0
        _ = Glibc.close(fd)
    }

    deinit {
        if !isClosed { close() }
        // Never inside the events' own callbacks: the connection that owns this
        // channel is released after the loop pass that ended it (or after the loop stopped).
        if let readEvent { event_free(readEvent) }
        if let writeEvent { event_free(writeEvent) }
    }

    // MARK: - Readiness

    fileprivate func ready(_ what: Int16) {
        var readable = Int32(what) & EV_READ != 0
        if Int32(what) & EV_WRITE != 0 {
            writeArmed = false
            if readPausedForWrite {
                // Room again: resume reading, and retry a read that OpenSSL had to
                // park behind its write (records may already sit in its buffer).
                readPausedForWrite = false
                if reading, !readRegistered, let readEvent {
                    readRegistered = true
                    event_add(readEvent, nil)
                }
                readable = true
            }
        }
        if handshaking {
            continueHandshake()
            return
        }
        if pendingOutput > 0 && !writeArmed {
            flush(fromEvent: true)
            guard !isClosed else { return }
        }
        if readable && !writeArmed {
            if reading {
                receive()
            } else if readRegistered, let readEvent {
                readRegistered = false
                event_del(readEvent)
            }
        }
    }

    private func armWrite() {
        guard !writeArmed else { return }
        if writeEvent == nil {
            writeEvent = event_new(loop.base, fd, Int16(EV_WRITE), channelCallback, Unmanaged.passUnretained(self).toOpaque())
        }
        guard let writeEvent else {
            delegate?.channel(self, event: .failed("event_new failed"))
            return
        }
        writeArmed = true
        event_add(writeEvent, nil)
        if readRegistered, let readEvent {
            readRegistered = false
            readPausedForWrite = true
            event_del(readEvent)
        }
    }

    private func continueHandshake() {
        guard let ssl = tls else { return }
        OpenSSLError.clear()
        errno = 0
        let result = SSL_do_handshake(ssl)
        if result == 1 {
            handshaking = false
            delegate?.channel(self, event: .tlsEstablished)
            guard !isClosed else { return }
            if pendingOutput > 0 { flush(fromEvent: true) }
            // Records that came with the client's Finished are already in OpenSSL.
            if !isClosed, SSL_has_pending(ssl) == 1 { receive() }
            return
        }
        switch SSL_get_error(ssl, result) {
        case SSL_ERROR_WANT_READ:
            break
        case SSL_ERROR_WANT_WRITE:
            armWrite()
        default:
            tlsFailed(result)
        }
    }

    private func receive() {
        guard reading, !isClosed else { return }
        // The loop's one read buffer: a callback sees it only for its own duration.
        let buffer = loop.readBuffer
        if tls != nil { receiveTLS(into: buffer) } else { receivePlain(into: buffer) }
    }

    private func receivePlain(into buffer: UnsafeMutableBufferPointer<UInt8>) {
        // A full buffer may mean more is waiting: read a few times, then let the
        // level-triggered event come back so other connections get their turn.
        for _ in 0..<4 {
            let count = recv(fd, buffer.baseAddress, buffer.count, 0)
            if count > 0 {
                delegate?.channel(self, read: UnsafeBufferPointer(rebasing: buffer[0..<count]))
                // STARTTLS may have switched this channel to TLS inside the read callback: the
                // rest of the socket belongs to OpenSSL now.
                if count < buffer.count || !reading || isClosed || tls != nil || writeArmed { return }
            } else if count == 0 {
                peerClosed = true
                delegate?.channel(self, event: .closedByPeer)
                return
            } else {
                let code = errno
                if code == EAGAIN || code == EWOULDBLOCK || code == EINTR { return }
                delegate?.channel(self, event: .failed(String(cString: strerror(code))))
                return
            }
        }
    }

    private func receiveTLS(into buffer: UnsafeMutableBufferPointer<UInt8>) {
        guard let ssl = tls else { return }
        for _ in 0..<16 {
            OpenSSLError.clear()
            errno = 0
            let count = SSL_read(ssl, buffer.baseAddress, Int32(buffer.count))
            if count > 0 {
                delegate?.channel(self, read: UnsafeBufferPointer(rebasing: buffer[0..<Int(count)]))
                // Output blocked: stop here (backpressure); the write event resumes.
                guard reading, !isClosed, !writeArmed, let ssl = tls else { return }
                // Nothing buffered in OpenSSL: the socket's readiness says if more came.
                if SSL_has_pending(ssl) == 0 && Int(count) < buffer.count { return }
                continue
            }
            switch SSL_get_error(ssl, count) {
            case SSL_ERROR_WANT_READ:
                return
            case SSL_ERROR_WANT_WRITE:
                armWrite()
                return
            case SSL_ERROR_ZERO_RETURN:
                peerClosed = true
                delegate?.channel(self, event: .closedByPeer)
                return
            default:
                tlsFailed(count)
                return
            }
        }
        // 16 records in one turn and OpenSSL holds more: the socket will not signal
        // them, so the read event is made active again for the next turn.
        if reading, !isClosed, let readEvent { event_active(readEvent, EV_READ, 0) }
    }

    private func flush(fromEvent: Bool) {
        let start = outputStart
        let (sent, stopped) = output.withUnsafeBytes { send(all: UnsafeRawBufferPointer(rebasing: $0[start...])) }
        outputStart += sent
        if let stopped {
            handle(stopped)
            return
        }
        // All sent: give the buffer back (idle connections keep none).
        output = []
        outputStart = 0
        if fromEvent { delegate?.channelDrained(self) }
    }

    private enum SendResult {
        case sent(Int)
        /// Wait for room (the socket or OpenSSL).
        case wantWrite
        /// OpenSSL must read first; the next read readiness retries.
        case wantRead
        /// SSL_write's result and errno right after it (before anything can change it).
        case tlsFailed(Int32, errno: Int32)
        case socketFailed(String)
    }

    /// One write of (part of) `bytes` to OpenSSL or the socket. Only the attempt:
    /// the caller keeps what was not sent, then acts on the result with `handle`
    /// (outside any access to `output`, since a failure may close the channel).
    private func send(_ bytes: UnsafeRawBufferPointer) -> SendResult {
        if let ssl = tls {
            OpenSSLError.clear()
            errno = 0
            let written = SSL_write(ssl, bytes.baseAddress, Int32(min(bytes.count, Int(Int32.max))))
            if written > 0 { return .sent(Int(written)) }
            switch SSL_get_error(ssl, written) {
            case SSL_ERROR_WANT_WRITE: return .wantWrite
            case SSL_ERROR_WANT_READ: return .wantRead
            default: return .tlsFailed(written, errno: errno)
            }
        }
        while true {
            let written = Glibc.send(fd, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL))
            if written > 0 { return .sent(written) }
            let code = errno
            if written < 0 && code == EINTR { continue }
            if written < 0 && (code == EAGAIN || code == EWOULDBLOCK) { return .wantWrite }
            return .socketFailed(written < 0 ? String(cString: strerror(code)) : "send returned 0")
        }
    }

    /// Writes until all of `bytes` is sent or a write stops short: how much was sent,
    /// and why it stopped (nil: all sent).
    private func send(all bytes: UnsafeRawBufferPointer) -> (sent: Int, stopped: SendResult?) {
        var sent = 0
        while sent < bytes.count {
            let result = send(UnsafeRawBufferPointer(rebasing: bytes[sent...]))
            guard case .sent(let count) = result else { return (sent, result) }
            sent += count
        }
        return (sent, nil)
    }

    private func handle(_ result: SendResult) {
        switch result {
        case .sent, .wantRead: break
        case .wantWrite: armWrite()
        case .tlsFailed(let written, let savedErrno): tlsFailed(written, errno: savedErrno)
        case .socketFailed(let reason): delegate?.channel(self, event: .failed(reason))
        }
    }

    /// A failed SSL operation: the client's EOF (with or without close_notify) is a
    /// close, anything else an error with OpenSSL's reasons.
    /// `savedErrno`: errno right after the failed call, when the caller could not
    /// call this at once.
    private func tlsFailed(_ result: Int32, errno savedErrno: Int32 = errno) {
        guard let ssl = tls else { return }
        let code = SSL_get_error(ssl, result)
        let reasons = OpenSSLError.drain("").reasons
        // OpenSSL 3 reports a close without close_notify as "unexpected eof while
        // reading"; mail clients (and load-balancer probes) do that all the time.
        let eof = reasons.isEmpty ? (result == 0 || savedErrno == 0 || savedErrno == ECONNRESET)
                                  : reasons.allSatisfy { $0.contains("unexpected eof") }
        if code == SSL_ERROR_ZERO_RETURN || ((code == SSL_ERROR_SYSCALL || code == SSL_ERROR_SSL) && eof) {
            peerClosed = true
            delegate?.channel(self, event: .closedByPeer)
            return
        }
        fatalTLSError = true
        if !reasons.isEmpty {
            delegate?.channel(self, event: .failed(reasons.joined(separator: "; ")))
        } else if code == SSL_ERROR_SYSCALL, savedErrno != 0 {
            delegate?.channel(self, event: .failed(String(cString: strerror(savedErrno))))
        } else {
            delegate?.channel(self, event: .failed("TLS error \(code)"))
        }
    }
}

private func channelCallback(_ fd: Int32, _ what: Int16, _ context: UnsafeMutableRawPointer?) {
    guard let context else { return }
    Unmanaged<Channel>.fromOpaque(context).takeUnretainedValue().ready(what)
}
