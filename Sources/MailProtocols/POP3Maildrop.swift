import Foundation

/// The maildrop of one POP3 session (RFC 1939): the messages of the INBOX snapshot
/// taken at login, numbered 1...n in UID order, plus the deletion marks that are only
/// carried out at QUIT. Owned by `POP3Session`.
struct POP3Maildrop: Equatable {
    let uidValidity: UInt32
    let messages: [MessageSummary]
    private(set) var deleted: Set<Int> = []

    init(_ snapshot: MailboxSnapshot) {
        uidValidity = snapshot.uidValidity
        messages = snapshot.messages
    }

    /// Messages not marked as deleted.
    var liveCount: Int { messages.count - deleted.count }
    var liveOctets: Int {
        var total = 0
        for (index, message) in messages.enumerated() where !deleted.contains(index + 1) {
            total += max(message.size, 0)
        }
        return total
    }

    /// UIDs of the messages marked as deleted, ascending.
    var deletedUIDs: [UInt32] { deleted.sorted().map { messages[$0 - 1].uid } }

    /// The message with number `number` when it exists and is not marked as deleted.
    func live(_ number: Int) -> MessageSummary? {
        guard number >= 1, number <= messages.count, !deleted.contains(number) else { return nil }
        return messages[number - 1]
    }

    /// A stable unique-id (RFC 1939 section 7: 0x21...0x7E, at most 70 octets). UIDs
    /// and UIDVALIDITY survive restarts in the store's uidlist, so this does too.
    func uniqueID(_ number: Int) -> String {
        "\(uidValidity).\(messages[number - 1].uid)"
    }

    mutating func markDeleted(_ number: Int) { deleted.insert(number) }
    mutating func unmarkAll() { deleted.removeAll() }
}
