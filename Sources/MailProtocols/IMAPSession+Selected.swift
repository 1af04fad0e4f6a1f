import Foundation

/// A STORE in progress: the flag changes sent to the store, then the FETCH replies.
struct IMAPStoreJob {
    var tag: String
    var byUID: Bool
    var silent: Bool
    var uids: [UInt32]
    var changes: [UInt32: MessageFlags]
}

/// A SEARCH in progress; keys that look at headers or bodies walk the mailbox in
/// chunks of `.fetchBodies`.
struct IMAPSearchJob {
    var tag: String
    var byUID: Bool
    var key: IMAPSearchKey
    var uids: [UInt32]
    var position = 0
    var chunk: [UInt32] = []
    var matches: [UInt32] = []
}

/// The commands of the selected state (RFC 3501 section 6.4) except FETCH: CLOSE,
/// UNSELECT, EXPUNGE, SEARCH, STORE, COPY and their UID forms, UID EXPUNGE (UIDPLUS).
extension IMAPSession {
    mutating func executeSelected(_ name: String, tag: String, parser: inout IMAPParser) throws {
        guard let view = selection else { return }
        let byUID = name.hasPrefix("UID ")
        switch name {
        case "CLOSE", "UNSELECT":
            try parser.end()
            if name == "CLOSE", !view.readOnly {
                // CLOSE expunges silently (RFC 3501 6.4.2).
                request(.expunge(mailbox: view.name, uids: nil), then: .expunge(tag: tag, command: name, closing: true))
                return
            }
            selection = nil
            latest = nil
            reply("\(tag) OK \(name) completed")
        case "EXPUNGE", "UID EXPUNGE":
            var uids: [UInt32]?
            if byUID {
                try parser.space()
                let set = try parser.sequenceSet()
                try parser.end()
                uids = targets(set, byUID: true, tag: tag)
            } else {
                try parser.end()
            }
            guard !view.readOnly else {
                reply("\(tag) NO [READ-ONLY] Mailbox is read-only")
                return
            }
            request(.expunge(mailbox: view.name, uids: uids), then: .expunge(tag: tag, command: name, closing: false))
        case "FETCH", "UID FETCH":
            try fetch(tag: tag, byUID: byUID, parser: &parser)
        case "STORE", "UID STORE":
            try store(tag: tag, byUID: byUID, parser: &parser)
        case "COPY", "UID COPY":
            try parser.space()
            let set = try parser.sequenceSet()
            try parser.space()
            let target = try parser.mailbox()
            try parser.end()
            guard let uids = targets(set, byUID: byUID, tag: tag) else { return }
            guard !uids.isEmpty else {
                finish(tag, "OK \(name) completed, no messages")
                return
            }
            request(.copy(from: view.name, uids: uids, to: target), then: .copy(tag: tag, command: name, target: target))
        case "SEARCH", "UID SEARCH":
            try search(tag: tag, byUID: byUID, parser: &parser)
        default:
            bad(tag, "Unknown command")
        }
    }

    // MARK: STORE

    private mutating func store(tag: String, byUID: Bool, parser: inout IMAPParser) throws {
        try parser.space()
        let set = try parser.sequenceSet()
        try parser.space()
        var operation = try parser.keyword()
        let silent = operation.hasSuffix(".SILENT")
        if silent { operation.removeLast(".SILENT".count) }
        guard ["FLAGS", "+FLAGS", "-FLAGS"].contains(operation) else { throw IMAPParseError("invalid data item") }
        try parser.space()
        let names = try parser.flagList(allowBare: true)
        try parser.end()
        guard let view = selection else { return }
        guard !view.readOnly else {
            reply("\(tag) NO [READ-ONLY] Mailbox is read-only")
            return
        }
        guard let uids = targets(set, byUID: byUID, tag: tag) else { return }
        // Keywords and \Recent cannot be stored; they are ignored, as PERMANENTFLAGS says.
        var flags: MessageFlags = []
        for name in names { if let flag = MessageFlags(imapName: name) { flags.insert(flag) } }
        var changes: [UInt32: MessageFlags] = [:]
        for uid in uids {
            guard let index = view.index(ofUID: uid) else { continue }
            let old = view.messages[index].flags
            let new: MessageFlags
            switch operation {
            case "FLAGS": new = flags
            case "+FLAGS": new = old.union(flags)
            default: new = old.subtracting(flags)
            }
            if new != old { changes[uid] = new }
        }
        let job = IMAPStoreJob(tag: tag, byUID: byUID, silent: silent, uids: uids, changes: changes)
        if changes.isEmpty {
            storeContinued(job, result: .done)
        } else {
            request(.setFlags(mailbox: view.name, changes: changes), then: .store(job))
        }
    }

    mutating func storeContinued(_ job: IMAPStoreJob, result: MailboxResult) {
        guard case .done = result else {
            reply("\(job.tag) \(Self.failureText(result))")
            return
        }
        applyFlags(job.changes)
        if !job.silent, let view = selection {
            for uid in job.uids {
                guard let index = view.index(ofUID: uid) else { continue }
                let summary = view.messages[index]
                let uidItem = job.byUID ? "UID \(uid) " : ""
                reply("* \(index + 1) FETCH (\(uidItem)FLAGS \(view.flags(of: summary)))")
            }
        }
        finish(job.tag, "OK \(job.byUID ? "UID STORE" : "STORE") completed", allowExpunge: job.byUID)
    }

    // MARK: COPY and EXPUNGE results

    mutating func copied(tag: String, command: String, target: String, result: MailboxResult) {
        guard case .copied(let uidValidity, let mapping) = result else {
            if case .failure(.noSuchMailbox) = result {
                reply("\(tag) NO [TRYCREATE] Mailbox does not exist")
            } else {
                reply("\(tag) \(Self.failureText(result))")
            }
            return
        }
        var completion = "OK \(command) completed"
        if !mapping.isEmpty {
            let source = IMAPSequenceSet.text(mapping.map(\.0))
            let copies = IMAPSequenceSet.text(mapping.map(\.1))
            completion = "OK [COPYUID \(uidValidity) \(source) \(copies)] \(command) completed"
        }
        if let view = selection, view.name == target {
            request(.snapshot(mailbox: view.name), then: .refresh(.command(tag: tag, completion: completion)))
        } else {
            finish(tag, completion)
        }
    }

    mutating func expunged(tag: String, command: String, closing: Bool, result: MailboxResult) {
        if closing {
            selection = nil
            latest = nil
            reply("\(tag) OK \(command) completed")
            return
        }
        guard case .expunged(let removed) = result else {
            reply("\(tag) \(Self.failureText(result))")
            return
        }
        removeFromView(Set(removed))
        finish(tag, "OK \(command) completed")
    }

    /// `* n EXPUNGE` for each removed message, highest number first so every number
    /// is valid when the client reads it.
    mutating func removeFromView(_ removed: Set<UInt32>) {
        guard var view = selection, !removed.isEmpty else { return }
        for index in view.messages.indices.reversed() where removed.contains(view.messages[index].uid) {
            reply("* \(index + 1) EXPUNGE")
        }
        view.messages.removeAll { removed.contains($0.uid) }
        view.recent.subtract(removed)
        selection = view
    }

    // MARK: SEARCH

    private mutating func search(tag: String, byUID: Bool, parser: inout IMAPParser) throws {
        try parser.space()
        var checkpoint = parser
        if (try? checkpoint.keyword()) == "CHARSET" {
            try checkpoint.space()
            let charset = try checkpoint.astringText().uppercased()
            try checkpoint.space()
            parser = checkpoint
            guard charset == "UTF-8" || charset == "US-ASCII" else {
                _ = try IMAPSearchKey.parseProgram(&parser)
                reply("\(tag) NO [BADCHARSET (UTF-8 US-ASCII)] Unsupported charset")
                return
            }
        }
        let key = try IMAPSearchKey.parseProgram(&parser)
        guard let view = selection else { return }
        let job = IMAPSearchJob(tag: tag, byUID: byUID, key: key, uids: view.messages.map(\.uid))
        continueSearch(job, bodies: nil)
    }

    mutating func searchContinued(_ job: IMAPSearchJob, result: MailboxResult) {
        guard case .bodies(let bodies) = result else {
            reply("\(job.tag) \(Self.failureText(result))")
            return
        }
        continueSearch(job, bodies: bodies)
    }

    private mutating func continueSearch(_ job: IMAPSearchJob, bodies: [UInt32: [UInt8]]?) {
        var job = job
        guard let view = selection else { return }
        func evaluate(_ uids: [UInt32]) {
            for uid in uids {
                guard let index = view.index(ofUID: uid) else { continue }
                let message = bodies?[uid].map { IMAPMessage($0) }
                let candidate = IMAPSearchCandidate(
                    sequence: UInt32(index + 1), messageCount: view.count, highestUID: view.highestUID,
                    summary: view.messages[index], recent: view.recent.contains(uid), message: message)
                if job.key.matches(candidate) { job.matches.append(job.byUID ? uid : UInt32(index + 1)) }
            }
        }
        if !job.key.needsMessage {
            evaluate(job.uids)
        } else {
            if bodies != nil { evaluate(job.chunk) }
            if job.position < job.uids.count {
                job.chunk = Self.chunk(job.uids, from: job.position, view: view)
                job.position += job.chunk.count
                request(.fetchBodies(mailbox: view.name, uids: job.chunk), then: .search(job))
                return
            }
        }
        reply("* SEARCH" + job.matches.map { " \($0)" }.joined())
        finish(job.tag, "OK \(job.byUID ? "UID SEARCH" : "SEARCH") completed", allowExpunge: job.byUID)
    }
}
