import Foundation
import Logging
import MailProtocols
import MailStore

/// The embedded store's side of an SMTP session: password checks, recipient
/// checks and durable delivery. Every method blocks (disk, fsync, KDF) and runs on
/// the work pool, never on an event loop. Immutable, hence Sendable.
public struct MailDelivery: Sendable {
    public let users: UserDatabase
    public let maildir: Maildir
    public let queue: OutboundQueue
    public let recipients: RecipientPolicy

    public init(dataDirectory: String, hostName: String, acceptedDomains: [String]) {
        users = UserDatabase(path: "\(dataDirectory)/users")
        maildir = Maildir(root: "\(dataDirectory)/mail", hostName: hostName)
        queue = OutboundQueue(root: "\(dataDirectory)/queue")
        recipients = RecipientPolicy(acceptedDomains: acceptedDomains)
    }

    func authenticate(username: String, password: String) -> Bool {
        users.verify(recipients.userName(forLogin: username), password: password)
    }

    func verify(recipient: String, authenticated: Bool) -> RecipientVerdict {
        let users: [String: String]
        do { users = try self.users.load() } catch { return .temporaryFailure }
        switch recipients.classify(recipient, authenticated: authenticated, userExists: { users[$0] != nil }) {
        case .local: return .local
        case .relay: return .relay
        case .unknownUser: return .unknownUser
        case .relayDenied: return .relayDenied
        }
    }

    /// Local recipients go to their Maildirs, the others to the outbound queue;
    /// both are fsynced before this returns.
    func deliver(_ envelope: SMTPEnvelope, logger: Logger) -> DeliveryResult {
        let queueID = makeQueueID()
        var localUsers: [String] = []
        var remote: [String] = []
        let known = (try? users.load()) ?? [:]
        for recipient in envelope.recipients {
            switch recipients.classify(recipient, authenticated: envelope.authenticatedUser != nil, userExists: { known[$0] != nil }) {
            case .local(let user): if !localUsers.contains(user) { localUsers.append(user) }
            case .relay: remote.append(recipient)
            case .unknownUser, .relayDenied:
                // Accepted at RCPT time but gone since (user removed): keep it queued, not lost.
                remote.append(recipient)
            }
        }
        do {
            if !localUsers.isEmpty {
                try maildir.deliver(envelope.message, returnPath: envelope.mailFrom, to: localUsers, queueID: queueID)
            }
            if !remote.isEmpty {
                try queue.enqueue(envelope.message, mailFrom: envelope.mailFrom, recipients: remote, queueID: queueID)
            }
        } catch {
            logger.error("delivery failed", metadata: ["queue_id": "\(queueID)", "error": "\(error)"])
            return .temporaryFailure("\(error)")
        }
        logger.info("message stored", metadata: [
            "queue_id": "\(queueID)", "size": "\(envelope.message.count)",
            "local": "\(localUsers.count)", "queued_remote": "\(remote.count)",
        ])
        return .queued(id: queueID)
    }
}
