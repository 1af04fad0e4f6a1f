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
    /// Debug lines are on (the level is fixed at start): checked before a connection
    /// builds one.
    let logsDebug: Bool
    /// The log handler is MailEdge's own, so close lines take the fast path below
    /// (under another handler they go through `Logger`).
    let writesOwnLogFormat: Bool
    /// Close lines written once per loop turn.
    let closeLines: LineBatch
    /// The close line's frames in the log format, with and without TLS facts (nil
    /// when info lines are off or another log handler is in use).
    let closeFrames: (tls: MailEdgeLogHandler.FixedLine, plain: MailEdgeLogHandler.FixedLine)?
    /// The close line's keys, sorted; `MailConnection.writeCloseLine` writes the values in this order.
    static let closeKeysTLS: [StaticString] = ["certificate", "certificate_reason", "cipher", "client", "conn", "connector",
                                               "duration_ms", "reason", "resumed", "sni", "tls_version"]
    static let closeKeysPlain: [StaticString] = ["client", "conn", "connector", "duration_ms", "reason"]
    private var listeners: [Listener] = []
    /// Open connections by socket descriptor (a slot per descriptor number the
    /// kernel hands out, reused as it reuses them): no hashing per accept and close.
    private var connections: [MailConnection?] = []
    /// Connections that ended during this loop turn, released when the turn's
    /// callbacks are done (never while their channel is inside its own callback),
    /// together with the turn's close lines: one event for both.
    private var endedConnections: [MailConnection] = []
    private var turnEnd: LoopWaker?
    private var turnEndPending = false
    /// Connection timeouts: each connection keeps its own deadline (re-arming is a
    /// store), and this one timer sweeps the connections when the earliest deadline
    /// may be due. No loop timer per connection: a libevent timer made, added,
    /// deleted and freed per connection cost ~1,500 instructions and ~60
    /// instruction-cache misses (callgrind).
    private var sweeper: LoopTimer?
    /// When the sweeper fires (monotonic seconds); infinity when it is not armed.
    private var sweepAt = Double.infinity
    /// Sweeps are at least this far apart (seconds), so connections whose deadlines
    /// fall close together are handled by one pass over the slots, not one each.
    static let sweepInterval = 0.25
    private var lastSweep = 0.0
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
        logsDebug = logger.logLevel <= .debug
        let lineFormat = MailEdgeLogHandler.LineFormat(logger)
        writesOwnLogFormat = lineFormat != nil
        closeFrames = lineFormat.flatMap { format in
            guard format.level <= .info else { return nil }
            func frame(_ keys: [StaticString]) -> MailEdgeLogHandler.FixedLine {
                format.fixedLine(level: .info, keys: keys, source: "Server", message: "connection closed")
            }
            return (frame(Self.closeKeysTLS), frame(Self.closeKeysPlain))
        }
        closeLines = LineBatch()
        turnEnd = loop.makeWaker { [unowned self] in self.endTurn() }
        sweeper = loop.makeTimer { [unowned self] in self.sweep() }
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
        sweeper = nil
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
    /// dropped at the end of this loop pass (`endTurn`), never while its channel is
    /// mid-callback.
    func connectionEnded(_ connection: MailConnection) {
        endTurnSoon()   // its close line goes out with the turn's
        guard let ended = self.connection(at: connection.fd), ended === connection else { return }
        connections[Int(connection.fd)] = nil
        runtime.limiter.release(connection.client)
        endedConnections.append(ended)
    }

    /// Runs `endTurn` once the callbacks of this loop turn are done.
    private func endTurnSoon() {
        guard !turnEndPending else { return }
        turnEndPending = true
        turnEnd?.wake()
    }

    /// The turn's close lines go out with one write(2), and the connections that
    /// ended are released.
    private func endTurn() {
        turnEndPending = false
        closeLines.flush()
        endedConnections.removeAll(keepingCapacity: true)
    }

    /// A connection set its deadline: the sweeper is brought forward if it would
    /// fire later (a deadline later than the sweep, the common case, costs nothing).
    func deadlineSet(_ deadline: Double) {
        guard deadline < sweepAt else { return }
        scheduleSweep(at: deadline)
    }

    private func scheduleSweep(at deadline: Double) {
        let due = max(deadline, lastSweep + Self.sweepInterval)
        guard due < sweepAt else { return }
        sweepAt = due
        sweeper?.arm(due - monotonicSeconds())
    }

    /// Fires every connection whose deadline has come and sets the next sweep for
    /// the earliest deadline left. One pass over the descriptor slots.
    private func sweep() {
        let now = monotonicSeconds()
        lastSweep = now
        sweepAt = .infinity
        var next = Double.infinity
        var slot = 0
        while slot < connections.count {
            // A millisecond early counts as due (the loop's clock and ours differ).
            if let connection = connections[slot], connection.deadline <= now + 0.001 { connection.deadlineReached() }
            // The handler may have closed it or set a new deadline.
            if let connection = connections[slot], connection.deadline < next { next = connection.deadline }
            slot += 1
        }
        if next < .infinity { scheduleSweep(at: next) }
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
