import Foundation

// The vocabulary between the IMAP/POP3 sessions (pure state machines) and the
// Maildir store (blocking, run on the work pool). Sessions ask with a
// `MailboxOperation`, the connection runs it for the authenticated user and hands
// back a `MailboxResult`. Plain Sendable values; no I/O here.

/// IMAP system flags, stored as Maildir info letters (`:2,DFRST`).
public struct MessageFlags: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let seen = MessageFlags(rawValue: 1 << 0)      // S
    public static let answered = MessageFlags(rawValue: 1 << 1)  // R (replied)
    public static let flagged = MessageFlags(rawValue: 1 << 2)   // F
    public static let deleted = MessageFlags(rawValue: 1 << 3)   // T (trashed)
    public static let draft = MessageFlags(rawValue: 1 << 4)     // D

    /// IMAP names in a fixed order: \Seen \Answered \Flagged \Deleted \Draft.
    public static let imapNames: [(MessageFlags, String)] = [
        (.seen, "\\Seen"), (.answered, "\\Answered"), (.flagged, "\\Flagged"), (.deleted, "\\Deleted"), (.draft, "\\Draft"),
    ]

    /// Maildir info letters, which must be in ASCII order: D F R S T.
    public static let maildirLetters: [(MessageFlags, Character)] = [
        (.draft, "D"), (.flagged, "F"), (.answered, "R"), (.seen, "S"), (.deleted, "T"),
    ]

    public var imapList: String {
        "(" + Self.imapNames.filter { contains($0.0) }.map(\.1).joined(separator: " ") + ")"
    }

    /// Parses an IMAP flag name (case-insensitive); nil for keywords and \Recent.
    public init?(imapName: String) {
        guard let match = Self.imapNames.first(where: { $0.1.caseInsensitiveCompare(imapName) == .orderedSame }) else { return nil }
        self = match.0
    }

    public var maildirInfo: String {
        String(Self.maildirLetters.filter { contains($0.0) }.map(\.1))
    }

    public init(maildirInfo: Substring) {
        var flags: MessageFlags = []
        for (flag, letter) in Self.maildirLetters where maildirInfo.contains(letter) { flags.insert(flag) }
        self = flags
    }
}

/// One message of a mailbox as the sessions see it.
public struct MessageSummary: Sendable, Equatable {
    public var uid: UInt32
    public var flags: MessageFlags
    /// RFC822.SIZE: octets with CRLF line ends, as sent to clients.
    public var size: Int
    public var internalDate: Date

    public init(uid: UInt32, flags: MessageFlags, size: Int, internalDate: Date) {
        self.uid = uid
        self.flags = flags
        self.size = size
        self.internalDate = internalDate
    }
}

/// A mailbox at one moment: UIDVALIDITY, UIDNEXT and its messages in ascending UID
/// order (message sequence number n is `messages[n - 1]`).
public struct MailboxSnapshot: Sendable, Equatable {
    public var name: String
    public var uidValidity: UInt32
    public var uidNext: UInt32
    public var messages: [MessageSummary]
    /// UIDs that arrived since the last snapshot any session took (IMAP \Recent).
    public var recent: Set<UInt32>

    public init(name: String, uidValidity: UInt32, uidNext: UInt32, messages: [MessageSummary], recent: Set<UInt32> = []) {
        self.name = name
        self.uidValidity = uidValidity
        self.uidNext = uidNext
        self.messages = messages
        self.recent = recent
    }
}

public struct MailboxListEntry: Sendable, Equatable {
    /// Hierarchy separator "/", INBOX spelled "INBOX".
    public var name: String
    public var hasChildren: Bool
    public var subscribed: Bool

    public init(name: String, hasChildren: Bool, subscribed: Bool) {
        self.name = name
        self.hasChildren = hasChildren
        self.subscribed = subscribed
    }
}

/// What a session asks of the store, always for the authenticated user.
/// Mailbox names use "/" as hierarchy separator; "INBOX" is case-insensitive.
public enum MailboxOperation: Sendable, Equatable {
    case list
    /// Opens (or re-reads) a mailbox: new mail moves from new/ to cur/ and gets UIDs.
    case snapshot(mailbox: String)
    case create(mailbox: String)
    case delete(mailbox: String)
    case rename(from: String, to: String)
    case subscribe(mailbox: String, subscribed: Bool)
    /// Full messages with CRLF line ends, by UID; missing UIDs are left out.
    case fetchBodies(mailbox: String, uids: [UInt32])
    /// Absolute new flags per UID.
    case setFlags(mailbox: String, changes: [UInt32: MessageFlags])
    /// Removes messages flagged \Deleted (only among `uids` when given).
    case expunge(mailbox: String, uids: [UInt32]?)
    /// Removes exactly these messages, flagged or not (POP3 DELE at QUIT).
    case remove(mailbox: String, uids: [UInt32])
    case append(mailbox: String, message: [UInt8], flags: MessageFlags, internalDate: Date?)
    case copy(from: String, uids: [UInt32], to: String)
    /// POP3: exclusive lock on a mailbox for one session; `unlock` releases it.
    case lock(mailbox: String)
    case unlock(mailbox: String)
}

public enum MailboxFailure: Sendable, Equatable, Error, CustomStringConvertible {
    case noSuchMailbox(String)
    case alreadyExists(String)
    case invalidName(String)
    case locked(String)
    case notPermitted(String)   // e.g. deleting INBOX
    case io(String)

    public var description: String {
        switch self {
        case .noSuchMailbox(let name): return "mailbox \(name) does not exist"
        case .alreadyExists(let name): return "mailbox \(name) already exists"
        case .invalidName(let name): return "invalid mailbox name \(name)"
        case .locked(let name): return "mailbox \(name) is in use by another session"
        case .notPermitted(let what): return what
        case .io(let what): return "storage error: \(what)"
        }
    }
}

public enum MailboxResult: Sendable, Equatable {
    case done
    case list([MailboxListEntry])
    case snapshot(MailboxSnapshot)
    case bodies([UInt32: [UInt8]])
    /// UIDs removed, ascending.
    case expunged([UInt32])
    case appended(uidValidity: UInt32, uid: UInt32)
    /// Source UID -> new UID in the target, in source order.
    case copied(uidValidity: UInt32, mapping: [(UInt32, UInt32)])
    case failure(MailboxFailure)

    public static func == (a: MailboxResult, b: MailboxResult) -> Bool {
        switch (a, b) {
        case (.done, .done): return true
        case let (.list(x), .list(y)): return x == y
        case let (.snapshot(x), .snapshot(y)): return x == y
        case let (.bodies(x), .bodies(y)): return x == y
        case let (.expunged(x), .expunged(y)): return x == y
        case let (.appended(v1, u1), .appended(v2, u2)): return v1 == v2 && u1 == u2
        case let (.copied(v1, m1), .copied(v2, m2)): return v1 == v2 && m1.elementsEqual(m2, by: { $0 == $1 })
        case let (.failure(x), .failure(y)): return x == y
        default: return false
        }
    }
}
