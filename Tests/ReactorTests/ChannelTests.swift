import Foundation
import Synchronization
import XCTest
@testable import Reactor

/// The reactor over real loopback sockets: the loop runs on the test's thread, a
/// plain blocking client on another; every wait is bounded.
final class ChannelTests: XCTestCase {
    /// A channel's delegate made of closures; it keeps the channel alive, as the
    /// connection that owns a channel does.
    final class ChannelCallbacks: ChannelDelegate {
        var channel: Channel?
        var onRead: ([UInt8]) -> Void = { _ in }
        var onEvent: (Channel.Event) -> Void = { _ in }
        var onDrained: () -> Void = {}

        func channel(_ channel: Channel, read bytes: UnsafeBufferPointer<UInt8>) { onRead(Array(bytes)) }
        func channel(_ channel: Channel, event: Channel.Event) { onEvent(event) }
        func channelDrained(_ channel: Channel) { onDrained() }
    }

    /// What the client thread saw, handed back to the test.
    final class ClientResult: Sendable {
        let received = Mutex<[UInt8]>([])
        let done = DispatchSemaphore(value: 0)
    }

    private func connect(port: UInt16) -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        precondition(result == 0, "connect failed")
        var timeout = timeval(tv_sec: 20, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        return fd
    }

    private static func send(_ fd: Int32, _ text: String) {
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    /// Reads until EOF (or the 20 s receive timeout).
    private static func readAll(_ fd: Int32) -> [UInt8] {
        var all: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count <= 0 { return all }
            all.append(contentsOf: buffer[0..<count])
        }
    }

    /// A client on its own thread: sends `lines`, then reads until EOF and closes.
    private func client(sending lines: [String], to port: UInt16) -> ClientResult {
        let result = ClientResult()
        let fd = connect(port: port)
        Thread.detachNewThread {
            for line in lines { Self.send(fd, line) }
            let all = Self.readAll(fd)
            result.received.withLock { $0 = all }
            Glibc.close(fd)
            result.done.signal()
        }
        return result
    }

    func testAcceptedSocketsInheritNoDelay_ReadsArriveAndABlockedWriteDrainsCompletely() throws {
        let loop = try EventLoop()
        let payload = (0..<(24 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) }   // 24 MiB: more than the socket buffers take
        var channel: Channel?
        var received: [UInt8] = []
        var drainedCalls = 0
        var noDelay: Int32 = -1
        let callbacks = ChannelCallbacks()
        let listener = try Listener(loop: loop, host: "127.0.0.1", port: 0) { fd, _ in
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &noDelay, &length)
            let accepted = try! Channel(loop: loop, fd: fd)
            callbacks.channel = accepted
            accepted.delegate = callbacks
            channel = accepted
            callbacks.onRead = { bytes in
                received += bytes
                if String(decoding: received, as: UTF8.self).hasSuffix("QUIT\r\n") {
                    accepted.write(payload)
                    XCTAssertGreaterThan(accepted.pendingOutput, 0, "24 MiB cannot all fit into the socket at once")
                }
            }
            callbacks.onDrained = {
                drainedCalls += 1
                XCTAssertEqual(accepted.pendingOutput, 0)
                accepted.close()
                loop.breakLoop()
            }
        }
        let port = listener.port
        XCTAssertNotEqual(port, 0)
        let result = client(sending: ["HELLO\r\n", "QUIT\r\n"], to: port)
        run(loop)
        XCTAssertEqual(result.done.wait(timeout: .now() + 20), .success)
        XCTAssertEqual(noDelay, 1, "TCP_NODELAY is inherited from the listening socket")
        XCTAssertEqual(String(decoding: received, as: UTF8.self), "HELLO\r\nQUIT\r\n")
        XCTAssertEqual(drainedCalls, 1)
        let got = result.received.withLock { $0 }
        XCTAssertEqual(got.count, payload.count)
        XCTAssertTrue(got == payload, "every byte arrives, in order")
        XCTAssertTrue(channel?.isClosed ?? false)
    }

    func testOnlyClientSpeaksFirstListenersDeferAccept_TheFirstBytesAreThereAtAccept() throws {
        let loop = try EventLoop()
        var peeked = -2
        var acceptedFD: Int32 = -1
        let deferred = try Listener(loop: loop, host: "127.0.0.1", port: 0, clientSpeaksFirst: true) { fd, _ in
            var byte: UInt8 = 0
            peeked = recv(fd, &byte, 1, Int32(MSG_PEEK | MSG_DONTWAIT))
            acceptedFD = fd
            loop.breakLoop()
        }
        let serverFirst = try Listener(loop: loop, host: "127.0.0.1", port: 0) { fd, _ in Glibc.close(fd) }
        func deferAccept(_ socket: Int32) -> Int32 {
            var value: Int32 = -1
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(socket, Int32(IPPROTO_TCP), TCP_DEFER_ACCEPT, &value, &length)
            return value
        }
        XCTAssertGreaterThan(deferAccept(deferred.socketDescriptor), 0, "implicit TLS: TCP_DEFER_ACCEPT")
        XCTAssertEqual(deferAccept(serverFirst.socketDescriptor), 0, "server-speaks-first ports never defer")
        let fd = connect(port: deferred.port)
        Self.send(fd, "HELLO")
        run(loop)
        XCTAssertEqual(peeked, 1, "the client's first bytes were already there when the connection was accepted")
        Glibc.close(acceptedFD)
        Glibc.close(fd)
    }

    func testPeerCloseIsReportedAndBytesAfterStopReadingStayInTheSocket() throws {
        let loop = try EventLoop()
        var channel: Channel?
        var reads: [String] = []
        var events: [Channel.Event] = []
        let sentInjection = loop.makeWaker {
            // The client wrote "EVIL\r\n" after our reply: it must still be unread.
            var poller = pollfd(fd: channel!.fd, events: Int16(POLLIN), revents: 0)
            _ = poll(&poller, 1, 10_000)
            var peek = [UInt8](repeating: 0, count: 16)
            let count = peek.withUnsafeMutableBytes { recv(channel!.fd, $0.baseAddress, $0.count, Int32(MSG_PEEK)) }
            XCTAssertEqual(String(decoding: peek.prefix(max(0, count)), as: UTF8.self), "EVIL\r\n")
            channel!.close()
            loop.breakLoop()
        }
        let callbacks = ChannelCallbacks()
        let listener = try Listener(loop: loop, host: "127.0.0.1", port: 0) { fd, _ in
            let accepted = try! Channel(loop: loop, fd: fd)
            callbacks.channel = accepted
            accepted.delegate = callbacks
            channel = accepted
            callbacks.onRead = { bytes in
                reads.append(String(decoding: bytes, as: UTF8.self))
                accepted.stopReading()
                accepted.write("220 go ahead\r\n")
            }
            callbacks.onEvent = { events.append($0) }
        }
        let fd = connect(port: listener.port)
        let result = ClientResult()
        Thread.detachNewThread {
            Self.send(fd, "STARTTLS\r\n")
            var buffer = [UInt8](repeating: 0, count: 64)
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            result.received.withLock { $0 = Array(buffer.prefix(max(0, count))) }
            Self.send(fd, "EVIL\r\n")
            sentInjection.wake()
            _ = Self.readAll(fd)
            Glibc.close(fd)
            result.done.signal()
        }
        run(loop)
        XCTAssertEqual(result.done.wait(timeout: .now() + 20), .success)
        XCTAssertEqual(reads, ["STARTTLS\r\n"])
        XCTAssertEqual(String(decoding: result.received.withLock { $0 }, as: UTF8.self), "220 go ahead\r\n")
        XCTAssertEqual(events, [])

        // A client that connects and goes away is a close, not an error.
        let loop2 = try EventLoop()
        var events2: [Channel.Event] = []
        let callbacks2 = ChannelCallbacks()
        let listener2 = try Listener(loop: loop2, host: "127.0.0.1", port: 0) { fd, _ in
            let accepted = try! Channel(loop: loop2, fd: fd)
            callbacks2.channel = accepted
            accepted.delegate = callbacks2
            channel = accepted
            callbacks2.onEvent = { event in
                events2.append(event)
                accepted.close()
                loop2.breakLoop()
            }
        }
        Glibc.close(connect(port: listener2.port))
        run(loop2)
        XCTAssertEqual(events2, [.closedByPeer])
    }

    func testReadingPausesWhileOutputWaitsForTheClient() throws {
        let loop = try EventLoop()
        let payload = [UInt8](repeating: 0x61, count: 24 << 20)
        var pendingAtReads: [Int] = []
        var drained = 0
        let callbacks = ChannelCallbacks()
        let listener = try Listener(loop: loop, host: "127.0.0.1", port: 0) { fd, _ in
            let accepted = try! Channel(loop: loop, fd: fd)
            callbacks.channel = accepted
            accepted.delegate = callbacks
            callbacks.onRead = { bytes in
                pendingAtReads.append(accepted.pendingOutput)
                if String(decoding: bytes, as: UTF8.self).contains("MORE") {
                    accepted.close()
                    loop.breakLoop()
                } else {
                    accepted.write(payload)
                }
            }
            callbacks.onDrained = { drained += 1 }
        }
        let fd = connect(port: listener.port)
        let result = ClientResult()
        Thread.detachNewThread {
            Self.send(fd, "HELLO\r\n")
            // The server is now writing 24 MiB that the socket cannot hold: send more
            // while that output waits, then read everything.
            var first = [UInt8](repeating: 0, count: 1)
            _ = first.withUnsafeMutableBytes { recv(fd, $0.baseAddress, 1, 0) }
            Self.send(fd, "MORE\r\n")
            let rest = Self.readAll(fd)
            result.received.withLock { $0 = first + rest }
            Glibc.close(fd)
            result.done.signal()
        }
        run(loop)
        XCTAssertEqual(result.done.wait(timeout: .now() + 20), .success)
        XCTAssertEqual(pendingAtReads.count, 2)
        XCTAssertEqual(pendingAtReads.last, 0, "MORE is read only once the blocked output has left")
        XCTAssertEqual(drained, 1)
        XCTAssertEqual(result.received.withLock { $0.count }, payload.count)
    }

    /// `write(String)` sends from the String's own bytes; what the socket does not
    /// take is kept, and text or bytes written meanwhile queue behind it in order.
    func testABlockedTextWriteKeepsItsRestAndWhatFollowsQueuesBehindIt() throws {
        let loop = try EventLoop()
        let line = "250-a line of text that the test repeats until the socket cannot take it all\r\n"
        let text = String(repeating: line, count: (24 << 20) / line.utf8.count)   // ~24 MiB
        var pendingAfterText = -1
        var pendingAfterTail = -1
        var drainedCalls = 0
        let callbacks = ChannelCallbacks()
        let listener = try Listener(loop: loop, host: "127.0.0.1", port: 0) { fd, _ in
            let accepted = try! Channel(loop: loop, fd: fd)
            callbacks.channel = accepted
            accepted.delegate = callbacks
            callbacks.onRead = { _ in
                guard pendingAfterText < 0 else { return }
                accepted.write(text)
                pendingAfterText = accepted.pendingOutput
                accepted.write("250 TAIL\r\n")      // text behind blocked output
                accepted.write(Array("END\r\n".utf8))  // and bytes behind that
                pendingAfterTail = accepted.pendingOutput
            }
            callbacks.onDrained = {
                drainedCalls += 1
                XCTAssertEqual(accepted.pendingOutput, 0)
                accepted.close()
                loop.breakLoop()
            }
        }
        let result = client(sending: ["GO\r\n"], to: listener.port)
        run(loop)
        XCTAssertEqual(result.done.wait(timeout: .now() + 20), .success)
        XCTAssertGreaterThan(pendingAfterText, 0, "24 MiB cannot all fit into the socket at once")
        XCTAssertLessThan(pendingAfterText, text.utf8.count, "the socket took the first part straight from the String")
        XCTAssertEqual(pendingAfterTail, pendingAfterText + "250 TAIL\r\nEND\r\n".utf8.count)
        XCTAssertEqual(drainedCalls, 1)
        let expected = Array((text + "250 TAIL\r\nEND\r\n").utf8)
        let got = result.received.withLock { $0 }
        XCTAssertEqual(got.count, expected.count)
        XCTAssertTrue(got == expected, "every byte arrives, in order")
    }
}
