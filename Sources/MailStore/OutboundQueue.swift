import Foundation

/// Mail accepted from authenticated senders for domains that are not local:
/// `var/queue/new/<id>` (the message) plus `<id>.envelope.json`, written durably
/// before the `250`. Nothing sends from this queue yet (no outbound delivery agent
/// in this release); it guarantees that acknowledged mail is kept.
public struct OutboundQueue: Sendable {
    public let root: String

    public init(root: String) { self.root = root }

    public struct Envelope: Codable, Sendable, Equatable {
        public var mailFrom: String
        public var recipients: [String]
        public var receivedAt: Date
    }

    @discardableResult
    public func enqueue(_ message: [UInt8], mailFrom: String, recipients: [String], queueID: String, now: Date = Date()) throws -> String {
        try FileIO.makeDirectory("\(root)/tmp")
        try FileIO.makeDirectory("\(root)/new")
        let envelope = try JSONEncoder().encode(Envelope(mailFrom: mailFrom, recipients: recipients, receivedAt: now))
        let temporaryMessage = "\(root)/tmp/\(queueID)"
        let temporaryEnvelope = "\(root)/tmp/\(queueID).envelope.json"
        try FileIO.createFile(temporaryEnvelope, Array(envelope), mode: 0o600)
        try FileIO.createFile(temporaryMessage, message, mode: 0o600)
        // Envelope first: a message file in new/ always has its envelope beside it.
        for (from, to) in [(temporaryEnvelope, "\(root)/new/\(queueID).envelope.json"), (temporaryMessage, "\(root)/new/\(queueID)")] {
            guard rename(from, to) == 0 else { throw StoreError.io(path: to, reason: String(cString: strerror(errno))) }
        }
        try FileIO.fsyncDirectory("\(root)/new")
        return "\(root)/new/\(queueID)"
    }
}
