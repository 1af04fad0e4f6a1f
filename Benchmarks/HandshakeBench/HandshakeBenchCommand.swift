import ArgumentParser
import Glibc

/// Command line of the TLS handshake load generator: parses and checks the
/// options, runs the load threads (or the hold mode), and prints the figures.
@main
struct HandshakeBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "HandshakeBench",
        abstract: "TLS handshake load generator for mail TLS endpoints (loopback only).",
        discussion: """
        Measures full or resumed TLS handshakes (implicit TLS or SMTP/IMAP/POP3 STARTTLS) \
        against a server on 127.0.0.0/8 or ::1. With --server-pid it reports the server's \
        CPU microseconds per handshake, the figure to compare between servers.
        """)

    @Option(help: "Loopback address of the server (127.0.0.0/8 or ::1).") var host = "127.0.0.1"
    @Option(help: "Port of the server.") var port: Int
    @Option(help: "SNI name to send.") var servername: String?
    @Option(help: "implicit | starttls-smtp | starttls-imap | starttls-pop3") var mode: BenchMode = .implicit
    @Flag(inversion: .prefixedNo, help: "Read the server's first line after TLS in implicit mode.")
    var greeting = true
    @Option(help: "TLS version, pinned as minimum and maximum: 1.2 or 1.3.") var tls = "1.2"
    @Option(help: "TLS 1.2 cipher list (OpenSSL syntax).") var cipher: String?
    @Option(help: "TLS 1.3 cipher suites (OpenSSL syntax).") var ciphersuites: String?
    @Option(help: "Key exchange groups offered.") var groups = "X25519"
    @Option(help: "Signature algorithms offered (OpenSSL syntax).") var sigalgs: String?
    @Flag(help: "Resume sessions by ticket: each connection offers the most recent session.")
    var resume = false
    @Option(help: "Handshakes to complete in the measured run.") var count = 2000
    @Option(help: "Maximum seconds of the measured run (the warm-up has its own cap of the same length).")
    var duration: Double = 60
    @Option(help: "Connections in flight.") var concurrency = 16
    @Option(help: "Load threads (each with its own event loop).") var threads = 1
    @Option(help: "Handshakes before measuring (not counted).") var warmup = 50
    @Option(help: "Seconds before a connection counts as timed out.") var timeout: Double = 10
    @Option(name: .customLong("server-pid"), help: "Server process to read CPU time and RSS from.")
    var serverPID: Int32?
    @Option(help: "Idle-memory mode: hold N connections open after their handshakes (one thread; --count ignored).")
    var hold: Int?
    @Flag(help: "Print one JSON object instead of a table.") var json = false

    func validate() throws {
        guard tls == "1.2" || tls == "1.3" else { throw ValidationError("--tls must be 1.2 or 1.3") }
        guard count >= 1 else { throw ValidationError("--count must be at least 1") }
        guard concurrency >= 1 else { throw ValidationError("--concurrency must be at least 1") }
        guard (1...64).contains(threads) else { throw ValidationError("--threads must be 1...64") }
        guard warmup >= 0 else { throw ValidationError("--warmup must not be negative") }
        guard duration > 0, timeout > 0 else { throw ValidationError("--duration and --timeout must be positive") }
        if let hold {
            guard hold >= 1 else { throw ValidationError("--hold must be at least 1") }
            guard serverPID != nil else { throw ValidationError("--hold needs --server-pid to read the server's RSS") }
        }
        if case .failure(let error) = TargetAddress.parseLoopback(host, port: port) {
            throw ValidationError(error.description)
        }
    }

    func run() throws {
        signal(SIGPIPE, SIG_IGN)
        raiseOpenFileLimit()
        do {
            let report = try execute()
            print(json ? report.json() : report.table())
            if !report.passed { throw ExitCode(1) }
        } catch let error as BenchError {
            printError("HandshakeBench: \(error.description)")
            throw ExitCode(1)
        }
    }

    private func makeConfig() throws(BenchError) -> BenchConfig {
        let target = try TargetAddress.parseLoopback(host, port: port).get()
        return BenchConfig(
            target: target, serverName: servername, mode: mode, readGreeting: greeting,
            tls13: tls == "1.3", cipherList: cipher, cipherSuites: ciphersuites, groups: groups,
            sigalgs: sigalgs, resume: resume, concurrency: concurrency,
            timeoutNanos: UInt64(timeout * 1e9))
    }

    private func execute() throws(BenchError) -> BenchReport {
        let config = try makeConfig()
        _ = try ClientTLSContext(config: config)  // fail early on a bad --cipher/--groups/--sigalgs
        let server = try serverPID.map { (pid) throws(BenchError) in try ServerProcess(pid: pid) }
        return if let hold, let server {
            try runHold(config: config, server: server, connections: hold)
        } else {
            try runLoad(config: config, server: server)
        }
    }

    private func runLoad(config: BenchConfig, server: ServerProcess?) throws(BenchError) -> BenchReport {
        let durationNanos = UInt64(duration * 1e9)
        let warmupDeadline = monotonicNanos() &+ durationNanos
        var workers: [LoadThread] = []
        for i in 0..<threads {
            var share = config
            share.concurrency = max(1, concurrency / threads + (i < concurrency % threads ? 1 : 0))
            workers.append(LoadThread(
                config: share, warmupTarget: split(warmup, i), target: max(1, split(count, i)),
                warmupDeadline: warmupDeadline))
        }
        var started: [LoadThread] = []
        defer {
            for worker in started { worker.cancelled = true; worker.go.signal() }
            for worker in started { worker.join() }
        }
        for worker in workers { try worker.start(); started.append(worker) }
        for worker in workers { worker.warmed.wait() }
        if let error = workers.compactMap(\.setupError).first { throw error }

        let before = try server?.sample()
        let clientBefore = clientCPUMicros()
        let start = monotonicNanos()
        for worker in workers {
            worker.deadline = start &+ durationNanos
            worker.go.signal()
        }
        for worker in workers { worker.join() }
        started.removeAll()
        let end = monotonicNanos()
        let clientAfter = clientCPUMicros()
        let after = try server?.sample()

        var warm = PhaseStats()
        var stats = PhaseStats()
        for worker in workers {
            warm.merge(worker.warmupStats)
            stats.merge(worker.stats)
        }
        reportErrors(warmup: warm, measured: stats)
        var report = makeReport(stats: stats, facts: workers.lazy.compactMap(\.facts).first,
                                seconds: Double(end - start) / 1e9, before: before, after: after,
                                clientMicros: clientAfter - clientBefore)
        report.threads = threads
        return report
    }

    private func runHold(config: BenchConfig, server: ServerProcess, connections: Int) throws(BenchError) -> BenchReport {
        let durationNanos = UInt64(duration * 1e9)
        let loop = try LoadLoop(config: config)
        let warm = warmup > 0 ? loop.run(target: warmup, deadline: monotonicNanos() &+ durationNanos) : PhaseStats()
        _ = server.waitForStableRSS(limitSeconds: 2)
        let before = try server.sample()
        let clientBefore = clientCPUMicros()
        let start = monotonicNanos()
        var stats = loop.run(target: connections, deadline: start &+ durationNanos, hold: true)
        let end = monotonicNanos()
        let clientAfter = clientCPUMicros()
        let cpuAfter = try server.sample()
        let stableRSS = server.waitForStableRSS(limitSeconds: 5) ?? cpuAfter.rssKiB
        stats.merge(loop.pollHeld())
        let heldNow = loop.heldCount
        reportErrors(warmup: warm, measured: stats)
        var after = cpuAfter
        after.rssKiB = stableRSS
        var report = makeReport(stats: stats, facts: loop.firstFacts, seconds: Double(end - start) / 1e9,
                                before: before, after: after, clientMicros: clientAfter - clientBefore)
        report.held = heldNow
        report.heldClosedByServer = stats.heldClosedByServer
        if heldNow > 0 {
            report.idleKiBPerConnection = Double(stableRSS - before.rssKiB) / Double(heldNow)
        }
        loop.closeHeld()
        return report
    }

    private func makeReport(stats: PhaseStats, facts: HandshakeFacts?, seconds: Double,
                            before: ServerSample?, after: ServerSample?, clientMicros: Double) -> BenchReport {
        let sorted = stats.latenciesMillis.sorted()
        let greetings = stats.greetingMillis.sorted()
        var serverMicros: Double?, serverUserMicros: Double?, serverSystemMicros: Double?
        if let before, let after, stats.completed > 0 {
            let perHandshake = { (ticks: UInt64) in Double(ticks) / ServerProcess.ticksPerSecond * 1e6 / Double(stats.completed) }
            serverMicros = perHandshake(after.cpuTicks &- before.cpuTicks)
            serverUserMicros = perHandshake(after.userTicks &- before.userTicks)
            serverSystemMicros = perHandshake(after.systemTicks &- before.systemTicks)
        }
        return BenchReport(
            host: host, port: port, mode: mode.rawValue, tls: tls, cipher: facts?.cipher, group: facts?.group,
            serverKey: facts?.serverKey, resume: resume, concurrency: concurrency, threads: 1,
            count: stats.completed, resumed: stats.resumed, failures: stats.failures, seconds: seconds,
            latencyP50: BenchReport.percentile(sorted, 0.50), latencyP99: BenchReport.percentile(sorted, 0.99),
            greetingP50: BenchReport.percentile(greetings, 0.50), greetingP99: BenchReport.percentile(greetings, 0.99),
            serverCPUMicrosPerHandshake: serverMicros,
            serverUserMicrosPerHandshake: serverUserMicros, serverSystemMicrosPerHandshake: serverSystemMicros,
            clientCPUMicrosPerHandshake: stats.completed > 0 ? clientMicros / Double(stats.completed) : nil,
            serverRSSBefore: before?.rssKiB, serverRSSAfter: after?.rssKiB,
            held: nil, heldClosedByServer: nil, idleKiBPerConnection: nil, aborted: stats.aborted)
    }

    /// The first few distinct failure reasons go to stderr; stdout stays parseable.
    private func reportErrors(warmup: PhaseStats, measured: PhaseStats) {
        if warmup.failures > 0 {
            printError("HandshakeBench: \(warmup.failures) failures during the warm-up (not counted)")
        }
        var all = warmup
        all.merge(measured)
        for (reason, count) in all.errors.prefix(5) {
            printError("HandshakeBench: \(count)x \(reason)")
        }
        let hidden = all.errors.dropFirst(5).reduce(0) { $0 + $1.count } + all.otherErrors
        if hidden > 0 { printError("HandshakeBench: \(hidden) more failures with other reasons") }
        if measured.aborted {
            printError("HandshakeBench: stopped early: failures exceed 1% of the handshakes")
        }
    }

    private func split(_ total: Int, _ index: Int) -> Int {
        total / threads + (index < total % threads ? 1 : 0)
    }
}
