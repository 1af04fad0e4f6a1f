import Foundation
internal import CLibevent
internal import COpenSSL

/// One accepted connection's byte stream: a libevent bufferevent over the socket,
/// plaintext or OpenSSL. Owned by its connection, used only on its loop thread.
/// STARTTLS swaps the plaintext bufferevent for an OpenSSL one on the same fd (the
/// path INTEROP.md found solid under load): the plaintext one, with any bytes the
/// client pipelined after STARTTLS, is thrown away.
public final class Channel {
    public enum Event: Equatable {
        case tlsEstablished
        case closedByPeer
        case failed(String)
    }

    public var onRead: (([UInt8]) -> Void)?
    public var onEvent: ((Event) -> Void)?
    /// Called when everything written so far has left the output buffer.
    public var onDrained: (() -> Void)?

    private let loop: EventLoop
    public let fd: Int32
    private var bev: OpaquePointer?
    private var ownsFD = true           // false once an OpenSSL bufferevent closes it for us
    public private(set) var isTLS = false
    public private(set) var isClosed = false

    /// A plaintext channel (STARTTLS connectors).
    public init(loop: EventLoop, fd: Int32) throws {
        self.loop = loop
        self.fd = fd
        // No BEV_OPT_CLOSE_ON_FREE: the fd outlives this bufferevent across STARTTLS.
        guard let bev = bufferevent_socket_new(loop.base, fd, 0) else {
            throw ReactorError(message: "bufferevent_socket_new failed")
        }
        self.bev = bev
        install()
    }

    /// A channel that starts with a TLS handshake (implicit TLS). Takes ownership of `ssl`.
    package init(loop: EventLoop, fd: Int32, acceptingTLS ssl: OpaquePointer) throws {
        self.loop = loop
        self.fd = fd
        try wrapTLS(ssl)
    }

    /// Replaces the plaintext bufferevent by an OpenSSL one on the same socket and
    /// starts the server handshake. Unread plaintext input is discarded. Takes
    /// ownership of `ssl`.
    package func upgradeToTLS(_ ssl: OpaquePointer) throws {
        retire()
        try wrapTLS(ssl)
    }

    private func wrapTLS(_ ssl: OpaquePointer) throws {
        // BEV_OPT_CLOSE_ON_FREE frees the SSL and closes the fd, even when the
        // constructor fails: from here on Swift owns neither.
        ownsFD = false
        let options = Int32(BEV_OPT_CLOSE_ON_FREE.rawValue)
        guard let bev = bufferevent_openssl_socket_new(loop.base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING, options) else {
            isClosed = true
            throw ReactorError(message: "bufferevent_openssl_socket_new failed")
        }
        bufferevent_openssl_set_allow_dirty_shutdown(bev, 1)
        self.bev = bev
        isTLS = true
        install()
    }

    private func install() {
        guard let bev else { return }
        // Retain policy: passUnretained; the channel frees (or retires) the
        // bufferevent before it goes away, and callbacks are cleared first.
        bufferevent_setcb(bev, readCallback, writeCallback, eventCallback, Unmanaged.passUnretained(self).toOpaque())
        bufferevent_enable(bev, Int16(EV_READ | EV_WRITE))
    }

    /// Detaches the current bufferevent and frees it on the next loop turn
    /// (never inside its own callback).
    private func retire() {
        guard let old = bev else { return }
        bev = nil
        bufferevent_setcb(old, nil, nil, nil, nil)
        bufferevent_disable(old, Int16(EV_READ | EV_WRITE))
        loop.runSoon { bufferevent_free(old) }
    }

    public func write(_ bytes: [UInt8]) {
        guard let bev, !bytes.isEmpty else { return }
        bytes.withUnsafeBytes { _ = bufferevent_write(bev, $0.baseAddress, $0.count) }
    }

    public func write(_ text: String) { write(Array(text.utf8)) }

    /// Stops reading: bytes that arrive now stay unread (and die with the plaintext
    /// bufferevent at STARTTLS).
    public func stopReading() {
        guard let bev else { return }
        bufferevent_disable(bev, Int16(EV_READ))
        if let input = bufferevent_get_input(bev) { evbuffer_drain(input, evbuffer_get_length(input)) }
    }

    public var pendingOutput: Int {
        guard let bev, let output = bufferevent_get_output(bev) else { return 0 }
        return evbuffer_get_length(output)
    }

    /// The OpenSSL connection once TLS is on, for reading what was negotiated.
    package var ssl: OpaquePointer? {
        guard isTLS, let bev else { return nil }
        return bufferevent_openssl_get_ssl(bev)
    }

    /// Closes now: a TLS close_notify is attempted, then the socket is closed.
    public func close() {
        guard !isClosed else { return }
        isClosed = true
        onRead = nil
        onEvent = nil
        onDrained = nil
        if isTLS, let ssl {
            _ = SSL_shutdown(ssl)   // one non-blocking try at close_notify
            ERR_clear_error()
        }
        retire()
        if ownsFD {
            let fd = self.fd
            loop.runSoon { _ = Glibc.close(fd) }
        }
    }

    deinit {
        if !isClosed { close() }
    }

    fileprivate func handleRead() {
        guard let bev, let input = bufferevent_get_input(bev) else { return }
        let length = evbuffer_get_length(input)
        guard length > 0 else { return }
        var bytes = [UInt8](repeating: 0, count: length)
        let copied = bytes.withUnsafeMutableBytes { evbuffer_remove(input, $0.baseAddress, length) }
        if copied < length { bytes.removeLast(length - max(0, Int(copied))) }
        onRead?(bytes)
    }

    fileprivate func handleWrite() { onDrained?() }

    fileprivate func handleEvent(_ what: Int16) {
        let flags = Int32(what)
        if flags & BEV_EVENT_CONNECTED != 0 {
            onEvent?(.tlsEstablished)
        } else if flags & BEV_EVENT_EOF != 0 {
            onEvent?(.closedByPeer)
        } else if flags & BEV_EVENT_ERROR != 0 {
            onEvent?(.failed(errorDescription()))
        }
    }

    private func errorDescription() -> String {
        var reasons: [String] = []
        if let bev, isTLS {
            while true {
                let code = bufferevent_get_openssl_error(bev)
                if code == 0 { break }
                // error:00000001 is libevent's spurious report (INTEROP.md).
                if code == 1 { continue }
                var buffer = [CChar](repeating: 0, count: 256)
                ERR_error_string_n(code, &buffer, buffer.count)
                reasons.append(String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self))
            }
        }
        let socketError = errno
        if reasons.isEmpty, socketError != 0 { reasons.append(String(cString: strerror(socketError))) }
        return reasons.isEmpty ? "connection error" : reasons.joined(separator: "; ")
    }
}

private func channel(_ context: UnsafeMutableRawPointer?) -> Channel? {
    context.map { Unmanaged<Channel>.fromOpaque($0).takeUnretainedValue() }
}
private func readCallback(_ bev: OpaquePointer?, _ context: UnsafeMutableRawPointer?) { channel(context)?.handleRead() }
private func writeCallback(_ bev: OpaquePointer?, _ context: UnsafeMutableRawPointer?) { channel(context)?.handleWrite() }
private func eventCallback(_ bev: OpaquePointer?, _ what: Int16, _ context: UnsafeMutableRawPointer?) { channel(context)?.handleEvent(what) }
