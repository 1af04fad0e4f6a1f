import MailProtocols

/// A validated mailbox name and where it lives on disk, in Dovecot's Maildir++ layout:
/// INBOX is the user's Maildir itself, "Archive/2026" is `<user>/.Archive.2026/`.
///
/// The only way from a client-supplied name to a path: a name that could escape the
/// user's folder or be ambiguous on disk ("." inside, control characters, a leading
/// "/", empty levels) is refused with `MailboxFailure.invalidName`. A plain value.
struct MailboxName: Hashable, Sendable {
    /// "INBOX" for the inbox (any case on input), otherwise levels joined by "/".
    let name: String

    var isInbox: Bool { name == "INBOX" }

    /// The folder under the user's Maildir: "" for INBOX, ".Archive.2026" otherwise.
    var directoryName: String {
        isInbox ? "" : "." + name.replacingOccurrences(of: "/", with: ".")
    }

    /// Its levels ("Archive", "2026").
    var levels: [Substring] { name.split(separator: "/", omittingEmptySubsequences: false) }

    /// The names of the levels above, outermost first ("Archive" for "Archive/2026").
    var ancestors: [MailboxName] {
        let parts = levels
        guard parts.count > 1 else { return [] }
        return (1..<parts.count).map { MailboxName(checked: parts[..<$0].joined(separator: "/")) }
    }

    /// True for names below `other` ("A/B" is inside "A").
    func isInside(_ other: MailboxName) -> Bool { name.hasPrefix(other.name + "/") }

    private init(checked name: String) { self.name = name }

    init(_ text: String) throws {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        // "INBOX" is case-insensitive, also as the first level of a deeper name.
        var name = text
        if let first = parts.first, first.uppercased() == "INBOX" {
            name = "INBOX" + (parts.count > 1 ? "/" + parts[1] : "")
        }
        guard Self.isValid(name) else { throw MailboxFailure.invalidName(Self.printable(text)) }
        self.name = name
    }

    /// The mailbox a Maildir++ folder name (".Archive.2026") stands for; nil for
    /// anything else in the user's Maildir.
    init?(directoryName: String) {
        guard directoryName.hasPrefix("."), directoryName.count > 1 else { return nil }
        let name = directoryName.dropFirst().replacingOccurrences(of: ".", with: "/")
        // Only folders this mapping produces: ".inbox.x" would be unreachable.
        guard let parsed = try? MailboxName(name), parsed.name == name, !parsed.isInbox else { return nil }
        self = parsed
    }

    static func isValid(_ name: String) -> Bool {
        guard !name.isEmpty, name.utf8.count <= 200, !name.hasPrefix("/"), !name.hasSuffix("/"),
              !name.contains("//"), !name.contains(".") else { return false }
        for scalar in name.unicodeScalars where scalar.value < 0x20 || scalar.value == 0x7F {
            return false
        }
        return true
    }

    /// A refused name, made safe to show in a reply or log.
    static func printable(_ text: String) -> String {
        String(text.unicodeScalars.prefix(100).map { scalar -> Character in
            scalar.value < 0x20 || scalar.value == 0x7F ? "?" : Character(scalar)
        })
    }
}
