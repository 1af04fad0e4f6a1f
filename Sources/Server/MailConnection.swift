import Foundation
import Logging
import MailProtocols
import Reactor
import TLS

/// One client connection: socket <-> TLS <-> a protocol session's actions (SMTP,
/// IMAP or POP3 through a `SessionAdapter`). Lives on the worker thread that
/// accepted it, from accept to close; not Sendable.
final class MailConnection {
    enum Phase { case handshaking, open, upgrading, closed }

    let id: UInt64
    /// The socket's descriptor: the worker's slot for this connection.
    let fd: Int32
    let client: String
    let connector: ReceiveConnector
    private unowned let worker: Worker
    private let channel: Channel
    private let session: any SessionAdapter
    private var phase: Phase
    /// When this connection times out (monotonic seconds; infinity: never). The
    /// worker's sweep calls `deadlineReached`; re-arming is a store.
    private(set) var deadline = Double.infinity
    private var watcher: LoopTimer?
    private var closeWhenDrained = false
    private var upgradeWhenDrained = false
    /// The worker's logger, shared; connection metadata is added per log line, so an
    /// idle connection keeps no metadata dictionary of its own.
    private let baseLogger: Logger
    private var logger: ConnectionLog { ConnectionLog(base: baseLogger, connector: connector.name, client: client, id: id) }
    /// Monotonic seconds at accept, for the close line's duration.
    private let started = monotonicSeconds()
    private var closeReason = "client quit"
    private var tlsEstablished = false
    private var finished = false
    /// The server said goodbye (`shutdown`): its deadline closes the connection.
    private var shuttingDown = false

    /// This connection's blocking jobs, one at a time and in order, on the pool.
    private lazy var workQueue = DispatchQueue(label: "mailedge.connection", target: worker.runtime.workPool)

    /// How often an IMAP IDLE session looks for new mail.
    static let mailboxPollInterval = 2.0

    init(id: UInt64, fd: Int32, client: String, connector: ReceiveConnector, worker: Worker) throws {
        self.id = id
        self.fd = fd
        self.client = client
        self.connector = connector
        self.worker = worker
        baseLogger = worker.logger
        if connector.isImplicitTLS {
            guard let tls = connector.tls, let ssl = tls.makeSSL() else {
                throw ReactorError(message: "no TLS context for implicit TLS connector \(connector.name)")
            }
            channel = try Channel(loop: worker.loop, fd: fd, acceptingTLS: ssl)
            phase = .handshaking
        } else {
            channel = try Channel(loop: worker.loop, fd: fd)
            phase = .open
        }
        session = worker.runtime.makeSession(for: connector, client: client, id: id, logger: worker.logger)
    }

    func start() {
        channel.delegate = self
        arm(phase == .handshaking ? connector.limits.handshakeTimeout : session.idleLimit)
        if worker.logsDebug { logger.log(.debug, "connection opened") }
        if phase == .open { perform(session.start()) } else { channel.startHandshakeNow() }
    }

    private func received(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard phase == .open else { return }
        arm(session.idleLimit)
        perform(session.receive(bytes))
    }

    func complete(_ completion: Worker.Completion) {
        guard phase == .open else { return }
        perform(session.complete(completion))
        arm(session.idleLimit)
    }

    private func perform(_ actions: [ConnectionAction]) {
        for action in actions {
            switch action {
            case .send(let bytes):
                channel.write(bytes)
            case .sendText(let text):
                channel.write(text)
            case .startTLS:
                channel.stopReading()
                upgradeWhenDrained = true
                phase = .upgrading
            case .work(let job):
                worker.submit(for: self, on: workQueue, job)
            case .close:
                closeWhenDrained = true
            case .log(let level, let message, let metadata):
                logger.log(level, message, metadata)
            case .watchMailbox(let on):
                if on {
                    watcher = worker.loop.schedule(after: Self.mailboxPollInterval) { [unowned self] in self.poll() }
                } else {
                    watcher?.cancel()
                    watcher = nil
                }
            }
        }
        if (upgradeWhenDrained || closeWhenDrained) && channel.pendingOutput == 0 { drained() }
    }

    private func poll() {
        guard phase == .open, watcher != nil else { return }
        perform(session.refresh())
        watcher?.arm(Self.mailboxPollInterval)
    }

    private func drained() {
        if upgradeWhenDrained {
            upgradeWhenDrained = false
            upgrade()
        } else if closeWhenDrained {
            finish()
        }
    }

    /// STARTTLS: the go-ahead has left; swap in TLS on the same socket. Everything
    /// the client sent after the STARTTLS line is dropped with the plaintext buffer.
    private func upgrade() {
        guard let tls = connector.tls, let ssl = tls.makeSSL() else {
            logger.log(.error, "STARTTLS failed: no TLS context")
            closeReason = "TLS unavailable"
            finish()
            return
        }
        do {
            try channel.upgradeToTLS(ssl)
            phase = .handshaking
            arm(connector.limits.handshakeTimeout)
        } catch {
            logger.log(.error, "STARTTLS failed", ["error": "\(error)"])
            closeReason = "TLS setup failed"
            finish()
        }
    }

    private func channelEvent(_ event: Channel.Event) {
        switch event {
        case .tlsEstablished:
            guard let ssl = channel.ssl, let tls = connector.tls else { return }
            let negotiated = tls.negotiated(ssl)
            tlsEstablished = true
            // The handshake's facts go into the one "connection closed" line; an
            // expired certificate is an error worth a line of its own, every time.
            if worker.logsDebug {
                logger.log(.debug, "TLS handshake completed", handshakeMetadata(ssl))
            }
            if tls.mayServeExpired && tls.selection(of: ssl).servedExpired {
                logger.log(.error, "TLS handshake completed with an EXPIRED certificate: no valid certificate is enabled",
                           handshakeMetadata(ssl))
            }
            var tlsFacts = TLSFacts(version: negotiated.version, cipher: negotiated.cipher)
            if connector.config.domainSecure {
                tlsFacts.clientCertificate = checkClientCertificate(ssl)
            }
            phase = .open
            arm(session.idleLimit)
            perform(session.tlsEstablished(tlsFacts))
        case .closedByPeer:
            closeReason = phase == .handshaking ? "client closed during TLS handshake" : "client disconnected"
            finish()
        case .failed(let reason):
            if phase == .handshaking {
                logger.log(.warning, "TLS handshake failed", ["error": "\(reason)"])
                closeReason = "TLS handshake failed"
            } else {
                closeReason = "connection error: \(reason)"
            }
            finish()
        }
    }

    /// What the handshake negotiated and which certificate was served, and why.
    private func handshakeMetadata(_ ssl: OpaquePointer) -> Logger.Metadata {
        let facts = TLSConnectionFacts.read(from: ssl)
        let selection = connector.tls?.selection(of: ssl)
        // Room for these, the close facts and the connection's keys: no regrowth.
        var metadata = Logger.Metadata(minimumCapacity: 12)
        metadata["tls_version"] = .string(facts.version)
        metadata["cipher"] = .string(facts.cipher)
        metadata["sni"] = .string(facts.serverName ?? "-")
        metadata["resumed"] = .string(facts.resumed ? "true" : "false")
        metadata["certificate"] = .string(selection?.thumbprint.hex ?? "-")
        if let selection { metadata["certificate_reason"] = .string(selection.reason) }
        return metadata
    }

    /// Domain security: what the client certificate proves, logged once per session.
    private func checkClientCertificate(_ ssl: OpaquePointer) -> ClientCertificateFacts? {
        guard let verifier = worker.runtime.clientCertificates else { return nil }
        guard let check = verifier.verify(ssl) else {
            logger.log(.info, "client certificate: none sent")
            return nil
        }
        logger.log(.info, "client certificate", [
            "subject": "\(check.subject)", "issuer": "\(check.issuer)", "thumbprint": "\(check.thumbprint)",
            "names": "\(check.names.joined(separator: ","))", "verification": "\(check.failure ?? "OK")",
        ])
        return ClientCertificateFacts(subject: check.subject, issuer: check.issuer, thumbprint: check.thumbprint,
                                      names: check.names, failure: check.failure)
    }

    /// Times out `seconds` from now, replacing the deadline set before.
    private func arm(_ seconds: Double) {
        guard !finished else { return }   // (a reply's `perform` may have closed it)
        deadline = monotonicSeconds() + max(seconds, 0)
        worker.deadlineSet(deadline)
    }

    /// The worker's sweep found the deadline passed.
    func deadlineReached() {
        deadline = .infinity
        timedOut()
    }

    private func timedOut() {
        switch phase {
        case .handshaking:
            logger.log(.warning, "TLS handshake timeout", ["timeout_s": "\(connector.limits.handshakeTimeout)"])
            closeReason = "handshake timeout"
            finish()
        case .open where shuttingDown:
            finish()   // the goodbye could not leave in time
        case .open:
            logger.log(.warning, "idle timeout", ["timeout_s": "\(session.idleLimit)"])
            closeReason = "idle timeout"
            perform(session.idleTimeout())
            // If the reply cannot leave (client not reading), do not wait forever.
            arm(5)
            phase = .closed
        case .upgrading, .closed:
            finish()
        }
    }

    /// SIGTERM after the drain period: say goodbye where the protocol allows.
    func shutdown() {
        shuttingDown = true
        closeReason = "server shutting down"
        if phase == .open {
            perform(session.shutdown())
            arm(2)
        } else {
            finish()
        }
    }

    /// Worker teardown after its loop stopped.
    func abort() {
        perform(session.dropped())
        channel.close()
        deadline = .infinity
        watcher = nil
    }

    private func finish() {
        guard !finished else { return }
        finished = true
        phase = .closed
        deadline = .infinity
        watcher?.cancel()
        // A session that still holds something (a POP3 lock) lets go of it now.
        for action in session.dropped() {
            if case .work(let job) = action { worker.submit(for: self, on: workQueue, job) }
        }
        // One info line per connection (HAProxy's model): why and when it ended,
        // and what TLS it had, read from the SSL before the channel frees it.
        if worker.writesOwnLogFormat {
            if let frames = worker.closeFrames {
                worker.closeLines.write { writeCloseLine(into: &$0, frames) }
            }
            channel.close()
        } else {
            var closeLine: Logger.Metadata?
            if baseLogger.logLevel <= .info {
                var metadata = (tlsEstablished ? channel.ssl.map(handshakeMetadata) : nil) ?? Logger.Metadata(minimumCapacity: 6)
                metadata["reason"] = .string(closeReason)
                metadata["duration_ms"] = .string(String(durationMilliseconds))
                closeLine = metadata
            }
            channel.close()
            if let closeLine { logger.log(.info, "connection closed", closeLine) }
        }
        worker.connectionEnded(self)
    }
}

/// Monotonic seconds (vDSO, no system call); inlined where a connection reads the
/// clock (a call into Reactor's `LoopTimer.now` ran from a cold cache each time).
@inline(__always) func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1_000_000_000
}

extension MailConnection {
    private var durationMilliseconds: Int { Int((monotonicSeconds() - started) * 1000) }

    /// The "connection closed" line written straight into the worker's batch in the
    /// log handler's format: the same keys as `handshakeMetadata` plus the close
    /// facts, in sorted order, between the frame's precomputed separators, without a
    /// metadata dictionary, a line buffer or a String per TLS fact (this line is the
    /// largest piece of per-connection work outside OpenSSL).
    private func writeCloseLine(into bytes: inout [UInt8],
                                _ frames: (tls: MailEdgeLogHandler.FixedLine, plain: MailEdgeLogHandler.FixedLine)) {
        bytes.appendUTF8(MailEdgeLogHandler.timestamp())
        // (`selection(of:)` answers for every SSL; only a connector without TLS has none.)
        guard tlsEstablished, let ssl = channel.ssl, let selection = connector.tls?.selection(of: ssl) else {
            let frame = frames.plain
            bytes.append(contentsOf: frame.head)
            appendConnectionFields(to: &bytes, frame.separators[0...])
            bytes.append(contentsOf: frame.tail)
            return
        }
        let frame = frames.tls, separators = frame.separators
        bytes.append(contentsOf: frame.head)
        TLSConnectionFacts.withCStrings(of: ssl) { version, cipher, serverName, resumed in
            bytes.append(contentsOf: separators[0])
            bytes.appendUTF8(selection.thumbprint.hex)
            bytes.append(contentsOf: separators[1])
            bytes.appendUTF8(selection.reason)
            bytes.append(contentsOf: separators[2])
            bytes.appendCString(cipher)
            appendConnectionFields(to: &bytes, separators[3...])
            bytes.append(contentsOf: separators[8])
            bytes.appendUTF8(resumed ? "true" : "false")
            bytes.append(contentsOf: separators[9])
            if let serverName { bytes.appendCString(serverName) } else { bytes.append(0x2D) }
            bytes.append(contentsOf: separators[10])
            bytes.appendCString(version)
        }
        bytes.append(contentsOf: frame.tail)
    }

    /// client, conn, connector, duration_ms, reason: the keys between "cipher" and
    /// "resumed" in sort order; `separators` starts at client's.
    private func appendConnectionFields(to bytes: inout [UInt8], _ separators: ArraySlice<[UInt8]>) {
        let first = separators.startIndex
        bytes.append(contentsOf: separators[first])
        bytes.appendUTF8(client)
        bytes.append(contentsOf: separators[first + 1])
        bytes.appendDigits(of: UInt(id), radix: 16)
        bytes.append(contentsOf: separators[first + 2])
        bytes.appendUTF8(connector.name)
        bytes.append(contentsOf: separators[first + 3])
        bytes.appendDecimal(durationMilliseconds)
        bytes.append(contentsOf: separators[first + 4])
        bytes.appendUTF8(closeReason)
    }
}

extension MailConnection: ChannelDelegate {
    func channel(_ channel: Channel, read bytes: UnsafeBufferPointer<UInt8>) { received(bytes) }
    func channel(_ channel: Channel, event: Channel.Event) { channelEvent(event) }
    func channelDrained(_ channel: Channel) { drained() }
}

/// Logs for one connection through the worker's shared logger, adding the
/// connection's metadata to each event (no per-connection Logger is kept or copied).
struct ConnectionLog {
    let base: Logger
    let connector: String
    let client: String
    let id: UInt64

    var metadata: Logger.Metadata {
        var metadata = Logger.Metadata(minimumCapacity: 3)
        add(to: &metadata)
        return metadata
    }

    /// The connection's keys, added into an event's metadata in place (no second
    /// dictionary and merge per line).
    private func add(to metadata: inout Logger.Metadata) {
        metadata["connector"] = .string(connector)
        metadata["client"] = .string(client)
        metadata["conn"] = .string(String(id, radix: 16))
    }

    func log(_ level: Logger.Level, _ message: String, _ extra: Logger.Metadata = [:]) {
        guard base.logLevel <= level else { return }
        var all = extra
        add(to: &all)
        base.log(level: level, "\(message)", metadata: all)
    }

    /// A Logger carrying the connection's metadata, for work done off the loop.
    var logger: Logger {
        var logger = base
        for (key, value) in metadata { logger[metadataKey: key] = value }
        return logger
    }
}
