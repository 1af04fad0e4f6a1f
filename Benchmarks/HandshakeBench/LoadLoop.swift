import Glibc

/// The figures of one phase (warm-up or measured run) of one load loop.
struct PhaseStats: Sendable {
    var completed = 0
    var resumed = 0
    var failures = 0
    var latenciesMillis: [Double] = []
    /// Implicit TLS with --greeting: handshake end to the server's first line.
    var greetingMillis: [Double] = []
    /// Distinct failure reasons with counts, first-seen order, at most `maxDistinctErrors`.
    var errors: [(reason: String, count: Int)] = []
    var otherErrors = 0
    var aborted = false
    /// Hold mode: idle connections the server closed while held.
    var heldClosedByServer = 0

    static let maxDistinctErrors = 8

    mutating func recordFailure(_ reason: String) {
        failures += 1
        noteError(reason)
    }

    mutating func noteError(_ reason: String, count: Int = 1) {
        if let i = errors.firstIndex(where: { $0.reason == reason }) {
            errors[i].count += count
        } else if errors.count < Self.maxDistinctErrors {
            errors.append((reason, count))
        } else {
            otherErrors += count
        }
    }

    mutating func merge(_ other: PhaseStats) {
        completed += other.completed
        resumed += other.resumed
        failures += other.failures
        latenciesMillis += other.latenciesMillis
        greetingMillis += other.greetingMillis
        for (reason, count) in other.errors { noteError(reason, count: count) }
        otherErrors += other.otherErrors
        aborted = aborted || other.aborted
        heldClosedByServer += other.heldClosedByServer
    }
}

/// One poll(2) event loop driving up to `concurrency` connections in flight on
/// the thread that created it (the Glibc module does not export epoll; with the
/// in-flight set small, poll costs little). Owns the connections and the per-loop
/// TLS context; never shared between threads.
final class LoadLoop {
    private let env: ConnectionEnvironment
    /// Connections in flight, in poll order.
    private var active: [BenchConnection] = []
    private var pool: [BenchConnection] = []
    private var held: [BenchConnection] = []
    private var pollSet: UnsafeMutablePointer<pollfd>
    private var pollCapacity: Int
    private var stats = PhaseStats()
    private var holding = false
    /// Negotiated parameters of the first successful handshake of this loop.
    private(set) var firstFacts: HandshakeFacts?

    init(config: BenchConfig) throws(BenchError) {
        let context = try ClientTLSContext(config: config)
        env = ConnectionEnvironment(config: config, context: context)
        pollCapacity = config.concurrency
        pollSet = .allocate(capacity: pollCapacity)
        active.reserveCapacity(config.concurrency)
        pool.reserveCapacity(config.concurrency)
    }

    deinit {
        closeHeld()
        for connection in active { connection.close() }
        pollSet.deallocate()
    }

    /// Runs handshakes until `target` succeeded, `deadline` passed, or failures
    /// make a >1% failure rate certain. With `hold`, completed connections stay
    /// open and idle (unpolled) instead of closing.
    func run(target: Int, deadline: UInt64, hold: Bool = false) -> PhaseStats {
        stats = PhaseStats()
        stats.latenciesMillis.reserveCapacity(target)
        if env.config.readsGreetingAfterTLS { stats.greetingMillis.reserveCapacity(target) }
        holding = hold
        var nextScan: UInt64 = 0
        while true {
            var now = monotonicNanos()
            while active.count < env.config.concurrency && mayStart(target: target, now: now, deadline: deadline) {
                startConnection(now: now)
                now = monotonicNanos()
            }
            if active.isEmpty { break }
            let n = pollOnce(active, timeoutMillis: 10)
            if n < 0 {
                stats.noteError("poll: \(errnoText(errno))")
                break
            }
            now = monotonicNanos()
            if now >= nextScan {
                nextScan = now &+ 5_000_000
                for connection in active where connection.phase != .closed && connection.phase != .held {
                    if let step = connection.checkDeadline(now: now) { drive(connection, step) }
                }
            }
            active.removeAll { $0.phase == .closed || $0.phase == .held }
        }
        return stats
    }

    /// Closes every held connection (hold mode), politely.
    func closeHeld() {
        for connection in held where connection.fd >= 0 { connection.close(polite: true) }
        held.removeAll()
    }

    var heldCount: Int { held.lazy.filter { $0.fd >= 0 }.count }

    /// Reads what held connections received meanwhile (a second ticket, or the
    /// server closing them), without waiting.
    func pollHeld() -> PhaseStats {
        stats = PhaseStats()
        held.removeAll { $0.fd < 0 }
        if held.count > pollCapacity {
            pollSet.deallocate()
            pollCapacity = held.count
            pollSet = .allocate(capacity: pollCapacity)
        }
        _ = pollOnce(held, timeoutMillis: 0)
        held.removeAll { $0.fd < 0 }
        return stats
    }

    /// One poll(2) over `connections`, driving each that is ready; returns poll's result.
    private func pollOnce(_ connections: [BenchConnection], timeoutMillis: Int32) -> Int32 {
        for (i, connection) in connections.enumerated() {
            pollSet[i] = pollfd(fd: connection.fd, events: connection.interest, revents: 0)
        }
        let n = poll(pollSet, nfds_t(connections.count), timeoutMillis)
        if n < 0 { return errno == EINTR ? 0 : n }
        if n == 0 { return 0 }
        for i in 0..<connections.count where pollSet[i].revents != 0 {
            let connection = connections[i]
            if connection.phase != .closed { drive(connection, connection.advance()) }
        }
        return n
    }

    private func mayStart(target: Int, now: UInt64, deadline: UInt64) -> Bool {
        if stats.aborted || now >= deadline { return false }
        if stats.completed + active.count >= target { return false }
        // Once failures exceed 1% of what even a perfect remainder would attempt, stop.
        if stats.failures * 99 > target {
            stats.aborted = true
            return false
        }
        return true
    }

    private func startConnection(now: UInt64) {
        let connection = pool.popLast() ?? BenchConnection(env: env)
        active.append(connection)
        drive(connection, connection.open(now: now))
    }

    private func drive(_ connection: BenchConnection, _ step: ConnectionStep) {
        switch step {
        case .wantRead:
            connection.interest = Int16(POLLIN)
        case .wantWrite:
            connection.interest = Int16(POLLOUT)
        case .succeeded:
            stats.completed += 1
            if let tls = connection.tls {
                if tls.sessionReused { stats.resumed += 1 }
                if firstFacts == nil { firstFacts = tls.facts() }
            }
            let nanos = connection.handshakeNanos &- connection.startNanos
            stats.latenciesMillis.append(Double(nanos) / 1_000_000)
            if connection.greetingNanos != 0 {
                stats.greetingMillis.append(Double(connection.greetingNanos &- connection.handshakeNanos) / 1_000_000)
            }
            if holding {
                connection.hold()
                connection.interest = Int16(POLLIN)
                held.append(connection)
            } else {
                connection.close(polite: true)
                pool.append(connection)
            }
        case .failed(let reason):
            if connection.phase == .held {
                stats.heldClosedByServer += 1
                stats.noteError(reason)
                connection.close()
            } else {
                stats.recordFailure(reason)
                connection.close()
                pool.append(connection)
            }
        }
    }
}
