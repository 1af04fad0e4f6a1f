import Foundation
import Logging
import MailProtocols
import Reactor

/// One worker thread: its own event loop, its own listener on every bind address
/// (SO_REUSEPORT) and the connections it accepted, which never leave it. Other
/// threads talk to it only through `post` (its mailbox).
final class Worker {
    enum Message: Sendable {
        case completed(connection: UInt64, fd: Int32, Completion)
        case stopAccepting
        case closeSessions
        case stop
    }

    enum Completion: Sendable {
        case authenticated(Bool)
        case recipient(RecipientVerdict)
        case delivered(DeliveryResult)
        case mailbox(MailboxResult)
    }

    let index: Int
    let runtime: ServerRuntime
    let loop: EventLoop
    /// The runtime's logger with this worker's index; fixed at init (the close
    /// line's fast path copies its handler metadata once).
    let logger: Logger
    /// The connection close line's fast path (nil under another log handler).
    let lineFormat: MailEdgeLogHandler.LineFormat?
    /// Close lines written once per loop turn.
    let closeLines: LineBatch
    private var listeners: [Listener] = []
    /// Open connections by socket descriptor (a slot per descriptor number the
    /// kernel hands out, reused as it reuses them): no hashing per accept and close.
    private var connections: [MailConnection?] = []
    /// Connections that ended during this loop turn, released on the next one (never
    /// while their channel is inside its own callback); one timer for all of them.
    private var endedConnections: [MailConnection] = []
    private var reaper: LoopTimer?
    private var nextID: UInt64 = 0
    private(set) var mailbox: Mailbox<Message>!

    /// Runs on the worker thread.
    init(index: Int, runtime: ServerRuntime) throws {
        self.index = index
        self.runtime = runtime
        self.loop = try EventLoop()
        var logger = runtime.logger
        logger[metadataKey: "worker"] = "\(index)"
        self.logger = logger
        lineFormat = MailEdgeLogHandler.LineFormat(logger)
        closeLines = LineBatch(loop: loop)
        reaper = loop.makeTimer { [unowned self] in self.endedConnections.removeAll(keepingCapacity: true) }
        mailbox = Mailbox(loop: loop) { [unowned self] messages in
            for message in messages { self.handle(message) }
        }
        for connector in runtime.connectors {
            for address in connector.config.bind {
                let listener = try Listener(loop: loop, host: address.host, port: address.port,
                                            clientSpeaksFirst: connector.isImplicitTLS) { [unowned self] fd, client in
                    self.accept(fd: fd, client: client, connector: connector)
                }
                listeners.append(listener)
            }
        }
    }

    func run() {
        loop.run()
        // Connections are freed here, on their own thread, after the loop stopped.
        for case let connection? in connections { connection.abort() }
        connections.removeAll()
        endedConnections.removeAll()
        reaper = nil
        closeLines.flush()
        listeners.removeAll()
    }

    private func accept(fd: Int32, client: String, connector: ReceiveConnector) {
        guard runtime.limiter.acquire(client) else {
            logger.warning("connection refused: too many connections from client", metadata: [
                "connector": "\(connector.name)", "client": "\(client)",
                "limit": "\(runtime.limiter.maximumPerClient)"])
            if !connector.isImplicitTLS {
                let reply = Array("421 4.7.0 \(connector.policy.fqdn) Error: too many connections from \(client)\r\n".utf8)
                _ = reply.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            }
            Glibc.close(fd)
            return
        }
        // TCP_NODELAY comes from the listening socket (Listener).
        nextID += 1
        let id = (UInt64(index) << 48) | nextID
        do {
            let connection = try MailConnection(id: id, fd: fd, client: client, connector: connector, worker: self)
            let slot = Int(fd)
            if slot >= connections.count { connections.append(contentsOf: repeatElement(nil, count: slot + 1 - connections.count)) }
            // A connection gives its slot back when it closes its socket, before the
            // kernel can hand the number out again.
            assert(connections[slot] == nil, "descriptor \(fd) still has a connection")
            connections[slot] = connection
            connection.start()
        } catch {
            // Neither the connection nor its channel took the socket.
            Glibc.close(fd)
            logger.error("cannot set up connection", metadata: ["client": "\(client)", "error": "\(error)"])
            runtime.limiter.release(client)
        }
    }

    /// Called from inside the connection's own callbacks: the last reference is
    /// dropped on the next loop turn, never while its channel is mid-callback.
    func connectionEnded(_ connection: MailConnection) {
        guard let ended = self.connection(at: connection.fd), ended === connection else { return }
        connections[Int(connection.fd)] = nil
        runtime.limiter.release(connection.client)
        if endedConnections.isEmpty { reaper?.arm(0) }
        endedConnections.append(ended)
    }

    /// The open connection on socket descriptor `fd`, if any.
    private func connection(at fd: Int32) -> MailConnection? {
        let slot = Int(fd)
        return slot < connections.count ? connections[slot] : nil
    }

    /// Blocking work for a connection, run on `queue` (the connection's serial
    /// queue over the shared pool, so its jobs keep their order); the result comes
    /// back through the mailbox to the connection, if it is still there.
    func submit(for connection: MailConnection, on queue: DispatchQueue, _ work: @escaping @Sendable () -> Completion) {
        let mailbox = self.mailbox!
        let id = connection.id, fd = connection.fd
        queue.async {
            mailbox.post(.completed(connection: id, fd: fd, work()))
        }
    }

    private func handle(_ message: Message) {
        switch message {
        case .completed(let id, let fd, let completion):
            // The descriptor may belong to a newer connection by now: the id decides.
            guard let connection = connection(at: fd), connection.id == id else { return }
            connection.complete(completion)
        case .stopAccepting:
            for listener in listeners { listener.close() }
            listeners.removeAll()
        case .closeSessions:
            for case let connection? in connections { connection.shutdown() }
        case .stop:
            loop.breakLoop()
        }
    }
}
