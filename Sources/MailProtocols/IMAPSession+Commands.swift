import Foundation

/// What a store (or authentication) result continues: the command that asked, with
/// everything it needs to finish.
enum IMAPPending {
    case authentication(tag: String, username: String)
    case select(tag: String, mailbox: String, readOnly: Bool)
    /// CREATE, DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE: OK or NO.
    case simple(tag: String, command: String)
    case list(tag: String, pattern: String, subscribedOnly: Bool)
    case status(tag: String, mailbox: String, items: [String])
    case refresh(IMAPRefreshPurpose)
    case fetch(IMAPFetchJob)
    case store(IMAPStoreJob)
    case search(IMAPSearchJob)
    case expunge(tag: String, command: String, closing: Bool)
    case copy(tag: String, command: String, target: String)
    case append(tag: String, mailbox: String)

    var isAuthentication: Bool {
        if case .authentication = self { return true }
        return false
    }
}

/// Why a snapshot of the selected mailbox was taken.
enum IMAPRefreshPurpose {
    /// `refresh()` between commands: remembered, told at the next command.
    case background
    /// `refresh()` during IDLE: told at once.
    case idle(tag: String)
    /// NOOP, CHECK, or APPEND/COPY into the selected mailbox: told, then `completion`.
    case command(tag: String, completion: String)
}

/// Command dispatch and the commands valid in any state or before login: CAPABILITY,
/// NOOP, LOGOUT, ID, STARTTLS, LOGIN, AUTHENTICATE.
extension IMAPSession {
    mutating func handleCommand(_ bytes: [UInt8]) {
        var parser = IMAPParser(bytes)
        guard let tag = try? parser.tag() else {
            bad(nil, bytes.isEmpty ? "Empty command line" : "Missing or invalid tag")
            return
        }
        var name = ""
        do {
            try parser.space()
            name = try parser.keyword()
            if name == "UID" {
                try parser.space()
                let sub = try parser.keyword()
                name = "UID " + sub
            }
            try execute(name, tag: tag, parser: &parser)
        } catch let error as IMAPParseError {
            bad(tag, name.isEmpty ? "Missing command" : "\(name) \(error.reason)")
        } catch {
            bad(tag, "\(name) failed")
        }
    }

    private mutating func execute(_ name: String, tag: String, parser: inout IMAPParser) throws {
        switch name {
        case "CAPABILITY":
            try parser.end()
            reply("* CAPABILITY \(capabilities)")
            finish(tag, "OK CAPABILITY completed")
        case "NOOP", "CHECK":
            try parser.end()
            if name == "CHECK" { guard requireSelected(tag) else { return } }
            noop(tag: tag, name: name)
        case "LOGOUT":
            try parser.end()
            reply("* BYE MailEdge IMAP server logging out")
            reply("\(tag) OK LOGOUT completed")
            close()
        case "ID":
            try id(tag: tag, parser: &parser)
        case "STARTTLS":
            try parser.end()
            startTLS(tag: tag)
        case "LOGIN":
            try login(tag: tag, parser: &parser)
        case "AUTHENTICATE":
            try authenticate(tag: tag, parser: &parser)
        case "ENABLE", "SELECT", "EXAMINE", "CREATE", "DELETE", "RENAME", "SUBSCRIBE", "UNSUBSCRIBE",
             "LIST", "LSUB", "STATUS", "APPEND", "IDLE":
            guard requireAuthenticated(tag) else { return }
            try executeAuthenticated(name, tag: tag, parser: &parser)
        case "CLOSE", "UNSELECT", "EXPUNGE", "SEARCH", "FETCH", "STORE", "COPY",
             "UID FETCH", "UID STORE", "UID SEARCH", "UID COPY", "UID EXPUNGE":
            guard requireSelected(tag) else { return }
            try executeSelected(name, tag: tag, parser: &parser)
        default:
            bad(tag, name.hasPrefix("UID ") ? "Unknown UID command" : "Unknown command")
        }
    }

    mutating func requireAuthenticated(_ tag: String) -> Bool {
        guard user != nil else {
            bad(tag, "Not authenticated")
            return false
        }
        return true
    }

    mutating func requireSelected(_ tag: String) -> Bool {
        guard requireAuthenticated(tag) else { return false }
        guard selection != nil else {
            bad(tag, "No mailbox selected")
            return false
        }
        return true
    }

    // MARK: Any state

    private mutating func noop(tag: String, name: String) {
        guard let selection else {
            finish(tag, "OK \(name) completed")
            return
        }
        request(.snapshot(mailbox: selection.name),
                then: .refresh(.command(tag: tag, completion: "OK \(name) completed")))
    }

    private mutating func id(tag: String, parser: inout IMAPParser) throws {
        try parser.space()
        if parser.next == 0x28 {
            try parser.expect(0x28, "(")
            var count = 0
            while parser.next != 0x29 {
                if count > 0 { try parser.space() }
                _ = try parser.string()
                try parser.space()
                _ = try parser.nstring()
                count += 1
                guard count <= 30 else { throw IMAPParseError("too many ID fields") }
            }
            try parser.expect(0x29, ")")
        } else {
            guard try parser.keyword() == "NIL" else { throw IMAPParseError("expected a list or NIL") }
        }
        try parser.end()
        reply("* ID (\"name\" \"MailEdge\")")
        finish(tag, "OK ID completed")
    }

    // MARK: Not authenticated

    private mutating func startTLS(tag: String) {
        guard user == nil else {
            bad(tag, "STARTTLS not allowed after login")
            return
        }
        guard tls == nil else {
            bad(tag, "TLS already active")
            return
        }
        guard policy.tlsMode == .starttls else {
            bad(tag, "STARTTLS not available")
            return
        }
        reply(tag: tag, "OK Begin TLS negotiation now")
        emit(.startTLS)
        // CVE-2011-0411: whatever was pipelined behind STARTTLS is never executed.
        input.discardAll()
        framer.reset()
        mode = .awaitingTLS
    }

    /// Checks common to LOGIN and AUTHENTICATE; false when already answered.
    private mutating func mayAuthenticate(_ tag: String) -> Bool {
        guard user == nil else {
            bad(tag, "Already authenticated")
            return false
        }
        guard plaintextAuthAllowed else {
            reply("\(tag) NO [PRIVACYREQUIRED] Use STARTTLS before logging in")
            return false
        }
        return true
    }

    private mutating func login(tag: String, parser: inout IMAPParser) throws {
        try parser.space()
        let username = try parser.astring()
        try parser.space()
        let password = try parser.astring()
        try parser.end()
        guard mayAuthenticate(tag) else { return }
        requestAuthentication(tag: tag, username: String(decoding: username, as: UTF8.self),
                              password: String(decoding: password, as: UTF8.self))
    }

    private mutating func authenticate(tag: String, parser: inout IMAPParser) throws {
        try parser.space()
        let mechanism = try parser.keyword()
        var initial: [UInt8]?
        if parser.skipSpace(), !parser.atEnd { initial = try parser.astring() }
        try parser.end()
        guard mayAuthenticate(tag) else { return }
        guard mechanism == "PLAIN" else {
            reply("\(tag) NO Unsupported authentication mechanism")
            return
        }
        if let initial {
            completePlain(tag: tag, response: initial)
        } else {
            reply("+ ")
            mode = .authenticateResponse(tag: tag)
        }
    }

    /// The client's line after `+ ` in AUTHENTICATE.
    mutating func handleSASLResponse(tag: String, line: IMAPCommandFramer.Line) {
        mode = .command
        switch line {
        case .tooLong:
            emit(.limitReached("authentication response longer than \(policy.lineLimit) bytes"))
            bad(tag, "Authentication response too long")
        case .line(let bytes):
            if bytes == [0x2A] {
                bad(tag, "Authentication cancelled")
            } else {
                completePlain(tag: tag, response: bytes)
            }
        }
    }

    private mutating func completePlain(tag: String, response: [UInt8]) {
        guard let decoded = SMTPSASL.decodeResponse(response) else {
            bad(tag, "Invalid base64 in authentication response")
            return
        }
        switch SMTPSASL.parsePlain(decoded) {
        case .success(let credentials):
            requestAuthentication(tag: tag, username: credentials.username, password: credentials.password)
        case .failure(.malformed):
            bad(tag, "Malformed PLAIN response")
        case .failure(.authzidMismatch):
            reply("\(tag) NO [AUTHORIZATIONFAILED] Authorization identity not permitted")
            countError()
        }
    }

    private mutating func requestAuthentication(tag: String, username: String, password: String) {
        pending = .authentication(tag: tag, username: username)
        mode = .awaiting
        emit(.authenticate(username: username, password: password))
    }

    // MARK: IDLE

    mutating func endIdle(tag: String, line: IMAPCommandFramer.Line) {
        mode = .command
        emit(.idle(false))
        if case .line(let bytes) = line, String(decoding: bytes, as: UTF8.self).uppercased() == "DONE" {
            finish(tag, "OK IDLE terminated")
        } else {
            bad(tag, "Expected DONE")
        }
    }
}
