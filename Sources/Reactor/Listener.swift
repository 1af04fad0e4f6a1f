import Foundation
internal import CLibevent

/// One listening socket on one loop (`evconnlistener`). Every worker binds its own
/// listener to each address with SO_REUSEPORT, so the kernel spreads accepts over
/// the threads. Owned by its worker; freed on the loop thread.
public final class Listener {
    private var listener: OpaquePointer?
    private let box: AcceptBox
    public let address: String

    /// `host` is a numeric IPv4 or IPv6 address. `clientSpeaksFirst` (implicit TLS:
    /// the ClientHello comes first) sets TCP_DEFER_ACCEPT: the kernel hands the
    /// connection over once its first bytes are there, so the handshake can start
    /// at accept without a wait for readiness. A client silent for a second is still
    /// accepted (Linux >= 2.6.32) and meets the handshake timeout; a probe's FIN is
    /// accepted at once. Never for STARTTLS ports: SMTP, IMAP and POP3 are
    /// server-speaks-first.
    public init(loop: EventLoop, host: String, port: UInt16, clientSpeaksFirst: Bool = false,
                onAccept: @escaping (Int32, String) -> Void) throws {
        box = AcceptBox(onAccept)
        address = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        var flags = LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_REUSEABLE | LEV_OPT_REUSEABLE_PORT
        if clientSpeaksFirst { flags |= LEV_OPT_DEFERRED_ACCEPT }
        let context = Unmanaged.passUnretained(box).toOpaque()
        if host.contains(":") {
            flags |= LEV_OPT_BIND_IPV6ONLY
            var sin6 = sockaddr_in6()
            sin6.sin6_family = sa_family_t(AF_INET6)
            sin6.sin6_port = port.bigEndian
            guard inet_pton(AF_INET6, host, &sin6.sin6_addr) == 1 else { throw ReactorError(message: "\(address): not an IPv6 address") }
            listener = withUnsafePointer(to: &sin6) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    evconnlistener_new_bind(loop.base, acceptCallback, context, flags, 1024, $0, Int32(MemoryLayout<sockaddr_in6>.size))
                }
            }
        } else {
            var sin = sockaddr_in()
            sin.sin_family = sa_family_t(AF_INET)
            sin.sin_port = port.bigEndian
            guard inet_pton(AF_INET, host, &sin.sin_addr) == 1 else { throw ReactorError(message: "\(address): not an IPv4 address") }
            listener = withUnsafePointer(to: &sin) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    evconnlistener_new_bind(loop.base, acceptCallback, context, flags, 1024, $0, Int32(MemoryLayout<sockaddr_in>.size))
                }
            }
        }
        guard let listener else {
            throw ReactorError(message: "cannot listen on \(address): \(String(cString: strerror(errno)))")
        }
        // Replies are small and must not wait for the client's delayed ACK (Nagle):
        // an implicit-TLS greeting right after the handshake sat ~40 ms otherwise.
        // Linux hands TCP_NODELAY down to every accepted socket: no setsockopt per
        // connection.
        var one: Int32 = 1
        setsockopt(evconnlistener_get_fd(listener), Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    /// The listening socket (-1 once closed), for socket options.
    var socketDescriptor: Int32 { listener.map { evconnlistener_get_fd($0) } ?? -1 }

    /// The bound port (the kernel's choice when created with port 0).
    public var port: UInt16 {
        guard let listener else { return 0 }
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let fd = evconnlistener_get_fd(listener)
        let ok = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) == 0 }
        }
        guard ok else { return 0 }
        return withUnsafePointer(to: &storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin_port) }
        }
    }

    /// Stops accepting and closes the socket.
    public func close() {
        if let listener { evconnlistener_free(listener) }
        listener = nil
    }

    deinit { close() }
}

final class AcceptBox {
    let onAccept: (Int32, String) -> Void
    init(_ onAccept: @escaping (Int32, String) -> Void) { self.onAccept = onAccept }
}

/// Retain policy: passUnretained; the Listener owns the box and frees the
/// evconnlistener before the box goes away.
private func acceptCallback(_ listener: OpaquePointer?, _ fd: Int32, _ address: UnsafeMutablePointer<sockaddr>?,
                            _ length: Int32, _ context: UnsafeMutableRawPointer?) {
    guard let context else { close(fd); return }
    let box = Unmanaged<AcceptBox>.fromOpaque(context).takeUnretainedValue()
    box.onAccept(fd, address.map(describeAddress) ?? "unknown")
}

/// Numeric text of a peer address: "127.0.0.1" or "::1".
func describeAddress(_ address: UnsafeMutablePointer<sockaddr>) -> String {
    withUnsafeTemporaryAllocation(of: CChar.self, capacity: Int(INET6_ADDRSTRLEN) + 1) { buffer in
        let size = socklen_t(buffer.count)
        let text: UnsafePointer<CChar>?
        switch Int32(address.pointee.sa_family) {
        case AF_INET:
            // Dotted quad written here: inet_ntop goes through sprintf (~1,700
            // instructions per accepted connection in callgrind, this ~150).
            let octets = address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr.s_addr }
            return withUnsafeBytes(of: octets) { dottedQuad($0) }
        case AF_INET6:
            text = address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { sin6 in
                inet_ntop(AF_INET6, &sin6.pointee.sin6_addr, buffer.baseAddress, size)
            }
        default:
            text = nil
        }
        return text.map { String(cString: $0) } ?? "unknown"
    }
}

/// "a.b.c.d" from four address bytes in network order.
private func dottedQuad(_ bytes: UnsafeRawBufferPointer) -> String {
    var text: [UInt8] = []
    text.reserveCapacity(15)
    for (index, octet) in bytes.prefix(4).enumerated() {
        if index > 0 { text.append(0x2E) }
        if octet >= 100 { text.append(0x30 + octet / 100) }
        if octet >= 10 { text.append(0x30 + octet / 10 % 10) }
        text.append(0x30 + octet % 10)
    }
    return String(decoding: text, as: UTF8.self)
}
