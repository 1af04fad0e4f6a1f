import Foundation

/// The commands of the authenticated state (RFC 3501 section 6.3): SELECT, EXAMINE,
/// CREATE, DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE, LIST, LSUB, STATUS, APPEND, plus
/// ENABLE and IDLE, and what their store results turn into.
extension IMAPSession {
    static let systemFlags = "(\\Answered \\Flagged \\Deleted \\Seen \\Draft)"
    static let statusItems: Set<String> = ["MESSAGES", "RECENT", "UIDNEXT", "UIDVALIDITY", "UNSEEN"]

    mutating func executeAuthenticated(_ name: String, tag: String, parser: inout IMAPParser) throws {
        switch name {
        case "ENABLE":
            repeat {
                try parser.space()
                _ = try parser.atom()
            } while !parser.atEnd
            // Nothing this server can enable (CONDSTORE, UTF8=ACCEPT, ...) is enabled.
            reply("* ENABLED")
            finish(tag, "OK ENABLE completed")
        case "SELECT", "EXAMINE":
            try parser.space()
            let mailbox = try parser.mailbox()
            if parser.skipSpace(), parser.next == 0x28 { _ = try parser.flagList() }  // (CONDSTORE) etc.
            try parser.end()
            if selection != nil {
                selection = nil
                latest = nil
                reply("* OK [CLOSED] Previous mailbox closed")
            }
            request(.snapshot(mailbox: mailbox), then: .select(tag: tag, mailbox: mailbox, readOnly: name == "EXAMINE"))
        case "CREATE", "DELETE", "SUBSCRIBE", "UNSUBSCRIBE":
            try parser.space()
            var mailbox = try parser.mailbox()
            try parser.end()
            if name == "CREATE" {
                while mailbox.hasSuffix("/") { mailbox.removeLast() }
                if mailbox == "INBOX" {
                    reply("\(tag) NO [ALREADYEXISTS] INBOX always exists")
                    return
                }
            }
            guard !mailbox.isEmpty else {
                reply("\(tag) NO [CANNOT] Invalid mailbox name")
                return
            }
            if name == "DELETE", mailbox == "INBOX" {
                reply("\(tag) NO [CANNOT] INBOX cannot be deleted")
                return
            }
            let operation: MailboxOperation
            switch name {
            case "CREATE": operation = .create(mailbox: mailbox)
            case "DELETE": operation = .delete(mailbox: mailbox)
            default: operation = .subscribe(mailbox: mailbox, subscribed: name == "SUBSCRIBE")
            }
            request(operation, then: .simple(tag: tag, command: name))
        case "RENAME":
            try parser.space()
            let from = try parser.mailbox()
            try parser.space()
            let to = try parser.mailbox()
            try parser.end()
            guard !from.isEmpty, !to.isEmpty else {
                reply("\(tag) NO [CANNOT] Invalid mailbox name")
                return
            }
            request(.rename(from: from, to: to), then: .simple(tag: tag, command: name))
        case "LIST", "LSUB":
            try parser.space()
            let reference = try parser.mailbox()
            try parser.space()
            let pattern = try parser.listMailbox()
            try parser.end()
            if pattern.isEmpty, name == "LIST" {
                reply("* LIST (\\Noselect) \"/\" \"\"")
                finish(tag, "OK LIST completed")
                return
            }
            request(.list, then: .list(tag: tag, pattern: reference + pattern, subscribedOnly: name == "LSUB"))
        case "STATUS":
            try parser.space()
            let mailbox = try parser.mailbox()
            try parser.space()
            try parser.expect(0x28, "(")
            var items: [String] = []
            while parser.next != 0x29 {
                if !items.isEmpty { try parser.space() }
                let item = try parser.keyword()
                guard Self.statusItems.contains(item) else { throw IMAPParseError("unknown status item") }
                items.append(item)
            }
            try parser.expect(0x29, ")")
            try parser.end()
            guard !items.isEmpty else { throw IMAPParseError("empty status item list") }
            request(.snapshot(mailbox: mailbox), then: .status(tag: tag, mailbox: mailbox, items: items))
        case "APPEND":
            try append(tag: tag, parser: &parser)
        case "IDLE":
            try parser.end()
            reply("+ idling")
            emit(.idle(true))
            mode = .idling(tag: tag)
            if selection != nil, latest != nil { reportUpdates(allowExpunge: true) }
        default:
            bad(tag, "Unknown command")
        }
    }

    private mutating func append(tag: String, parser: inout IMAPParser) throws {
        try parser.space()
        let mailbox = try parser.mailbox()
        try parser.space()
        var flags: MessageFlags = []
        if parser.next == 0x28 {
            for name in try parser.flagList() {
                if let flag = MessageFlags(imapName: name) { flags.insert(flag) }
            }
            try parser.space()
        }
        var date: Date?
        if parser.next == 0x22 {
            date = try parser.dateTime()
            try parser.space()
        }
        let message = try parser.string()
        try parser.end()
        request(.append(mailbox: mailbox, message: message, flags: flags, internalDate: date),
                then: .append(tag: tag, mailbox: mailbox))
    }

    // MARK: Store results

    mutating func selected(tag: String, mailbox: String, readOnly: Bool, result: MailboxResult) {
        guard case .snapshot(let snapshot) = result else {
            reply("\(tag) \(Self.failureText(result))")
            return
        }
        let view = Selection(name: mailbox, readOnly: readOnly, uidValidity: snapshot.uidValidity,
                             uidNext: snapshot.uidNext, messages: snapshot.messages,
                             recent: snapshot.recent.intersection(snapshot.messages.map(\.uid)))
        selection = view
        latest = nil
        reply("* FLAGS \(Self.systemFlags)")
        reply("* OK [PERMANENTFLAGS \(readOnly ? "()" : Self.systemFlags)] Flags permitted")
        reply("* \(view.messages.count) EXISTS")
        reply("* \(view.recent.count) RECENT")
        reply("* OK [UIDVALIDITY \(view.uidValidity)] UIDs valid")
        reply("* OK [UIDNEXT \(view.uidNext)] Predicted next UID")
        if let first = view.messages.firstIndex(where: { !$0.flags.contains(.seen) }) {
            reply("* OK [UNSEEN \(first + 1)] First unseen")
        }
        reply("\(tag) OK [\(readOnly ? "READ-ONLY" : "READ-WRITE")] \(readOnly ? "EXAMINE" : "SELECT") completed")
    }

    mutating func listed(tag: String, pattern: String, subscribedOnly: Bool, result: MailboxResult) {
        guard case .list(let entries) = result else {
            reply("\(tag) \(Self.failureText(result))")
            return
        }
        let command = subscribedOnly ? "LSUB" : "LIST"
        for entry in entries where (!subscribedOnly || entry.subscribed) && Self.listMatches(entry.name, pattern) {
            var writer = IMAPResponseWriter()
            let attributes = subscribedOnly ? "()" : (entry.hasChildren ? "(\\HasChildren)" : "(\\HasNoChildren)")
            writer.text("* \(command) \(attributes) \"/\" ")
            writer.mailbox(entry.name)
            writer.crlf()
            emit(.send(writer.bytes))
        }
        finish(tag, "OK \(command) completed")
    }

    mutating func statusReported(tag: String, mailbox: String, items: [String], result: MailboxResult) {
        guard case .snapshot(let snapshot) = result else {
            reply("\(tag) \(Self.failureText(result))")
            return
        }
        let values = items.map { item -> String in
            switch item {
            case "MESSAGES": return "MESSAGES \(snapshot.messages.count)"
            case "RECENT": return "RECENT \(snapshot.messages.filter { snapshot.recent.contains($0.uid) }.count)"
            case "UIDNEXT": return "UIDNEXT \(snapshot.uidNext)"
            case "UIDVALIDITY": return "UIDVALIDITY \(snapshot.uidValidity)"
            default: return "UNSEEN \(snapshot.messages.filter { !$0.flags.contains(.seen) }.count)"
            }
        }
        var writer = IMAPResponseWriter()
        writer.text("* STATUS ")
        writer.mailbox(mailbox)
        writer.text(" (" + values.joined(separator: " ") + ")")
        writer.crlf()
        emit(.send(writer.bytes))
        finish(tag, "OK STATUS completed")
    }

    mutating func appended(tag: String, mailbox: String, result: MailboxResult) {
        guard case .appended(let uidValidity, let uid) = result else {
            if case .failure(.noSuchMailbox) = result {
                reply("\(tag) NO [TRYCREATE] Mailbox does not exist")
            } else {
                reply("\(tag) \(Self.failureText(result))")
            }
            return
        }
        let completion = "OK [APPENDUID \(uidValidity) \(uid)] APPEND completed"
        if let selection, selection.name == mailbox {
            // RFC 3501 6.3.11: the client of the selected mailbox hears of it at once.
            request(.snapshot(mailbox: selection.name), then: .refresh(.command(tag: tag, completion: completion)))
        } else {
            finish(tag, completion)
        }
    }

    /// `NO [code] text` for a failed or unexpected store result; store text that could
    /// reveal paths is not passed on.
    static func failureText(_ result: MailboxResult) -> String {
        guard case .failure(let failure) = result else { return "NO [SERVERBUG] Unexpected store result" }
        switch failure {
        case .noSuchMailbox: return "NO [NONEXISTENT] Mailbox does not exist"
        case .alreadyExists: return "NO [ALREADYEXISTS] Mailbox already exists"
        case .invalidName: return "NO [CANNOT] Invalid mailbox name"
        case .locked: return "NO [INUSE] Mailbox is in use by another session"
        case .notPermitted: return "NO [NOPERM] Operation not permitted"
        case .io: return "NO [UNAVAILABLE] Storage error, try again later"
        }
    }

    /// LIST pattern matching: `*` matches anything, `%` anything but the "/" hierarchy
    /// delimiter; the INBOX prefix is case-insensitive.
    static func listMatches(_ name: String, _ pattern: String) -> Bool {
        let nameChars = Array(canonicalInbox(name))
        let patternChars = Array(canonicalInbox(pattern))
        guard nameChars.count <= 1024, patternChars.count <= 1024 else { return false }
        // matched[j]: pattern prefix of length i matches name prefix of length j.
        var matched = [Bool](repeating: false, count: nameChars.count + 1)
        matched[0] = true
        for p in patternChars {
            var next = [Bool](repeating: false, count: nameChars.count + 1)
            if p == "*" || p == "%" {
                var reachable = false
                for j in 0...nameChars.count {
                    if matched[j] { reachable = true }
                    next[j] = reachable
                    if j < nameChars.count, p == "%", nameChars[j] == "/" { reachable = false }
                }
            } else {
                for j in 0..<nameChars.count where matched[j] && nameChars[j] == p { next[j + 1] = true }
            }
            matched = next
        }
        return matched[nameChars.count]
    }

    private static func canonicalInbox(_ text: String) -> String {
        guard text.count >= 5, text.prefix(5).uppercased() == "INBOX" else { return text }
        let rest = text.dropFirst(5)
        guard rest.isEmpty || rest.first == "/" || rest.first == "*" || rest.first == "%" else { return text }
        return "INBOX" + rest
    }
}
