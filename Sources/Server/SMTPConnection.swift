import Foundation
import Logging
import MailProtocols
import Reactor
import TLS

/// One SMTP connection: socket <-> TLS <-> `SMTPSession` actions. Lives on the
/// worker thread that accepted it, from accept to close; not Sendable.
final class SMTPConnection {
    enum Phase { case handshaking, open, upgrading, closed }

    let id: UInt64
    let client: String
    let connector: ReceiveConnector
    private unowned let worker: Worker
    private let channel: Channel
    private var session: SMTPSession
    private var phase: Phase
    private var timer: LoopTimer?
    private var closeWhenDrained = false
    private var upgradeWhenDrained = false
    private var logger: Logger
    private let started = Date()
    private var closeReason = "client quit"

    init(id: UInt64, fd: Int32, client: String, connector: ReceiveConnector, worker: Worker) throws {
        self.id = id
        self.client = client
        self.connector = connector
        self.worker = worker
        var logger = worker.logger
        logger[metadataKey: "connector"] = "\(connector.name)"
        logger[metadataKey: "client"] = "\(client)"
        logger[metadataKey: "conn"] = "\(String(id, radix: 16))"
        self.logger = logger
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
        session = SMTPSession(policy: connector.policy, clientAddress: client, tls: nil, clock: { Date() })
    }

    func start() {
        channel.onRead = { [unowned self] bytes in self.received(bytes) }
        channel.onEvent = { [unowned self] event in self.channelEvent(event) }
        channel.onDrained = { [unowned self] in self.drained() }
        timer = worker.loop.schedule(after: phase == .handshaking ? connector.limits.handshakeTimeout : connector.limits.idleTimeout) { [unowned self] in
            self.timedOut()
        }
        logger.info("connection opened")
        if phase == .open { perform(session.start()) }
    }

    private func received(_ bytes: [UInt8]) {
        guard phase == .open else { return }
        timer?.arm(connector.limits.idleTimeout)
        perform(session.receive(bytes))
    }

    func complete(_ completion: Worker.Completion) {
        guard phase == .open else { return }
        switch completion {
        case .authenticated(let ok):
            logger.info(ok ? "authentication succeeded" : "authentication failed")
            perform(session.authenticationCompleted(success: ok))
        case .recipient(let verdict):
            perform(session.recipientVerified(verdict))
        case .delivered(let result):
            perform(session.deliveryCompleted(result))
        }
    }

    private func perform(_ actions: [SMTPAction]) {
        for action in actions {
            switch action {
            case .send(let text):
                channel.write(text)
            case .startTLS:
                channel.stopReading()
                upgradeWhenDrained = true
                phase = .upgrading
            case .authenticate(let username, let password):
                let delivery = worker.runtime.delivery
                worker.submit(for: id) { .authenticated(delivery.authenticate(username: username, password: password)) }
            case .verifyRecipient(let address, let authenticated):
                let delivery = worker.runtime.delivery
                worker.submit(for: id) { .recipient(delivery.verify(recipient: address, authenticated: authenticated)) }
            case .deliver(let envelope):
                let delivery = worker.runtime.delivery
                let logger = self.logger
                worker.submit(for: id) { .delivered(delivery.deliver(envelope, logger: logger)) }
            case .close:
                closeWhenDrained = true
            case .limitReached(let limit):
                logger.warning("limit reached", metadata: ["limit": "\(limit)"])
            case .domainSecurity(let verdict):
                switch verdict {
                case .partner(let domain):
                    logger.info("domain security: partner session", metadata: ["domain": "\(domain)"])
                case .refused(let reply, let reason):
                    logger.warning("domain security: refused", metadata: ["reply": "\(reply.prefix(3))", "reason": "\(reason)"])
                case .notSecureDomain:
                    break
                }
            }
        }
        if (upgradeWhenDrained || closeWhenDrained) && channel.pendingOutput == 0 { drained() }
    }

    private func drained() {
        if upgradeWhenDrained {
            upgradeWhenDrained = false
            upgrade()
        } else if closeWhenDrained {
            finish()
        }
    }

    /// STARTTLS: the 220 has left; swap in TLS on the same socket. Everything the
    /// client sent after the STARTTLS line is dropped with the plaintext buffer.
    private func upgrade() {
        guard let tls = connector.tls, let ssl = tls.makeSSL() else {
            logger.error("STARTTLS failed: no TLS context")
            closeReason = "TLS unavailable"
            finish()
            return
        }
        do {
            try channel.upgradeToTLS(ssl)
            phase = .handshaking
            timer?.arm(connector.limits.handshakeTimeout)
        } catch {
            logger.error("STARTTLS failed", metadata: ["error": "\(error)"])
            closeReason = "TLS setup failed"
            finish()
        }
    }

    private func channelEvent(_ event: Channel.Event) {
        switch event {
        case .tlsEstablished:
            guard let ssl = channel.ssl else { return }
            let facts = TLSConnectionFacts.read(from: ssl)
            let selection = connector.tls?.selection(of: ssl)
            var metadata: Logger.Metadata = [
                "tls_version": "\(facts.version)", "cipher": "\(facts.cipher)",
                "sni": "\(facts.serverName ?? "-")", "resumed": "\(facts.resumed)",
                "certificate": "\(selection?.thumbprint.hex ?? "-")",
            ]
            if let selection { metadata["reason"] = "\(selection.reason)" }
            if selection?.servedExpired == true {
                logger.error("TLS handshake completed with an EXPIRED certificate: no valid certificate is enabled", metadata: metadata)
            } else {
                logger.info("TLS handshake completed", metadata: metadata)
            }
            var tlsFacts = TLSFacts(version: facts.version, cipher: facts.cipher)
            if connector.config.domainSecure {
                tlsFacts.clientCertificate = checkClientCertificate(ssl)
            }
            timer?.arm(connector.limits.idleTimeout)
            let implicitStart = connector.isImplicitTLS && !session.isTLSActive && phase == .handshaking && !startedSession
            phase = .open
            if implicitStart {
                startedSession = true
                session = SMTPSession(policy: connector.policy, clientAddress: client, tls: tlsFacts, clock: { Date() })
                perform(session.start())
            } else {
                perform(session.tlsEstablished(tlsFacts))
            }
        case .closedByPeer:
            closeReason = phase == .handshaking ? "client closed during TLS handshake" : "client disconnected"
            finish()
        case .failed(let reason):
            if phase == .handshaking {
                logger.warning("TLS handshake failed", metadata: ["error": "\(reason)"])
                closeReason = "TLS handshake failed"
            } else {
                closeReason = "connection error: \(reason)"
            }
            finish()
        }
    }
    private var startedSession = false

    /// Domain security: what the client certificate proves, logged once per session.
    private func checkClientCertificate(_ ssl: OpaquePointer) -> ClientCertificateFacts? {
        guard let verifier = worker.runtime.clientCertificates else { return nil }
        guard let check = verifier.verify(ssl) else {
            logger.info("client certificate: none sent")
            return nil
        }
        logger.info("client certificate", metadata: [
            "subject": "\(check.subject)", "issuer": "\(check.issuer)", "thumbprint": "\(check.thumbprint)",
            "names": "\(check.names.joined(separator: ","))", "verification": "\(check.failure ?? "OK")",
        ])
        return ClientCertificateFacts(subject: check.subject, issuer: check.issuer, thumbprint: check.thumbprint,
                                      names: check.names, failure: check.failure)
    }

    private func timedOut() {
        switch phase {
        case .handshaking:
            logger.warning("TLS handshake timeout", metadata: ["timeout_s": "\(connector.limits.handshakeTimeout)"])
            closeReason = "handshake timeout"
            finish()
        case .open:
            logger.warning("idle timeout", metadata: ["timeout_s": "\(connector.limits.idleTimeout)"])
            closeReason = "idle timeout"
            perform(session.idleTimeout())
            // If the reply cannot leave (client not reading), do not wait forever.
            timer?.arm(5)
            phase = .closed
        case .upgrading, .closed:
            finish()
        }
    }

    /// SIGTERM after the drain period: say goodbye where the protocol allows.
    func shutdown() {
        closeReason = "server shutting down"
        if phase == .open {
            perform(session.shutdown())
            timer?.arm(2)
        } else {
            finish()
        }
    }

    /// Worker teardown after its loop stopped.
    func abort() {
        channel.close()
        timer = nil
    }

    private var finished = false
    private func finish() {
        guard !finished else { return }
        finished = true
        phase = .closed
        timer?.cancel()
        channel.close()
        logger.info("connection closed", metadata: [
            "reason": "\(closeReason)",
            "duration_ms": "\(Int(Date().timeIntervalSince(started) * 1000))",
        ])
        worker.connectionEnded(self)
    }
}
