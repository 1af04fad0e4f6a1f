import Foundation
import Logging
import MailProtocols

/// SMTP: `SMTPSession` plus the embedded store's delivery, password and
/// recipient checks (run on the work pool).
final class SMTPSessionAdapter: SessionAdapter {
    var session: SMTPSession
    let delivery: MailDelivery
    let log: ConnectionLog
    let idleLimit: Double

    init(connector: ReceiveConnector, client: String, id: UInt64, delivery: MailDelivery, logger: Logger) {
        session = SMTPSession(policy: connector.policy, clientAddress: client, tls: nil, clock: { Date() })
        self.delivery = delivery
        log = ConnectionLog(base: logger, connector: connector.name, client: client, id: id)
        idleLimit = connector.limits.idleTimeout
    }

    var isTLSActive: Bool { session.isTLSActive }

    func start() -> [ConnectionAction] {
        started = true
        return map(session.start())
    }
    func receive(_ bytes: UnsafeBufferPointer<UInt8>) -> [ConnectionAction] { map(session.receive(bytes)) }
    func tlsEstablished(_ facts: TLSFacts) -> [ConnectionAction] {
        // Implicit TLS: the session begins only now, knowing its TLS facts. (Only
        // `started` is read: reading `session.isTLSActive` here copied the whole
        // session struct, a retain and release per field, on every connection.)
        if !started {
            started = true
            _ = session.tlsEstablished(facts)
            return map(session.start())
        }
        return map(session.tlsEstablished(facts))
    }
    private var started = false

    func complete(_ completion: Worker.Completion) -> [ConnectionAction] {
        switch completion {
        case .authenticated(let ok):
            return [.log(.info, ok ? "authentication succeeded" : "authentication failed", [:])]
                + map(session.authenticationCompleted(success: ok))
        case .recipient(let verdict):
            return map(session.recipientVerified(verdict))
        case .delivered(let result):
            return map(session.deliveryCompleted(result))
        case .mailbox:
            return []
        }
    }

    func idleTimeout() -> [ConnectionAction] { map(session.idleTimeout()) }
    func shutdown() -> [ConnectionAction] { map(session.shutdown()) }
    func refresh() -> [ConnectionAction] { [] }
    func dropped() -> [ConnectionAction] { [] }

    private func map(_ actions: [SMTPAction]) -> [ConnectionAction] {
        actions.map { action -> ConnectionAction in
            switch action {
            case .send(let text): return .sendText(text)
            case .startTLS: return .startTLS
            case .close: return .close
            case .authenticate(let username, let password):
                let delivery = self.delivery
                return .work { .authenticated(delivery.authenticate(username: username, password: password)) }
            case .verifyRecipient(let address, let authenticated):
                let delivery = self.delivery
                return .work { .recipient(delivery.verify(recipient: address, authenticated: authenticated)) }
            case .deliver(let envelope):
                let delivery = self.delivery
                let logger = log.logger
                return .work { .delivered(delivery.deliver(envelope, logger: logger)) }
            case .limitReached(let limit):
                return .log(.warning, "limit reached", ["limit": "\(limit)"])
            case .domainSecurity(let verdict):
                switch verdict {
                case .partner(let domain):
                    return .log(.info, "domain security: partner session", ["domain": "\(domain)"])
                case .refused(let reply, let reason):
                    return .log(.warning, "domain security: refused", ["reply": "\(reply.prefix(3))", "reason": "\(reason)"])
                case .notSecureDomain:
                    return .log(.trace, "domain security: not a secure domain", [:])
                }
            }
        }
    }
}
