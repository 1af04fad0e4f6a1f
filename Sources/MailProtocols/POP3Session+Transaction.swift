import Foundation

/// The TRANSACTION and UPDATE states of `POP3Session` (RFC 1939 sections 5 and 6),
/// plus the results of the mailbox operations the session asked for. DELE only marks;
/// removal happens at QUIT, followed by the unlock.
extension POP3Session {
    mutating func transactionCommand(_ keyword: String, _ arguments: [String]) {
        guard var maildrop else {
            badCommand("-ERR Command not valid in this state")
            return
        }
        switch keyword {
        case "CAPA":
            capa(arguments)
        case "STAT":
            guard arguments.isEmpty else { return badCommand("-ERR Syntax: STAT") }
            reply("+OK \(maildrop.liveCount) \(maildrop.liveOctets)")
        case "LIST":
            scanListing(arguments, syntax: "LIST [msg]") { "\($0) \(maildrop.messages[$0 - 1].size)" }
        case "UIDL":
            scanListing(arguments, syntax: "UIDL [msg]") { "\($0) \(maildrop.uniqueID($0))" }
        case "RETR":
            guard arguments.count == 1 else { return badCommand("-ERR Syntax: RETR msg") }
            retrieve(arguments[0], bodyLines: nil)
        case "TOP":
            guard arguments.count == 2, let lines = Self.lineCount(arguments[1]) else {
                return badCommand("-ERR Syntax: TOP msg n")
            }
            retrieve(arguments[0], bodyLines: lines)
        case "DELE":
            guard arguments.count == 1 else { return badCommand("-ERR Syntax: DELE msg") }
            guard let number = liveMessage(arguments[0]) else { return }
            maildrop.markDeleted(number)
            self.maildrop = maildrop
            reply("+OK Message \(number) deleted")
        case "RSET":
            guard arguments.isEmpty else { return badCommand("-ERR Syntax: RSET") }
            maildrop.unmarkAll()
            self.maildrop = maildrop
            reply("+OK Maildrop has \(maildrop.liveCount) messages (\(maildrop.liveOctets) octets)")
        case "NOOP":
            guard arguments.isEmpty else { return badCommand("-ERR Syntax: NOOP") }
            reply("+OK")
        case "QUIT":
            guard arguments.isEmpty else { return badCommand("-ERR Syntax: QUIT") }
            enterUpdate()
        case "USER", "PASS", "AUTH", "STLS", "APOP":
            badCommand("-ERR Command not valid in this state, already logged in")
        default:
            badCommand("-ERR Unknown command")
        }
    }

    /// LIST and UIDL: with an argument one line for that message, without it a
    /// multi-line listing of every message not marked as deleted.
    private mutating func scanListing(_ arguments: [String], syntax: String, line: (Int) -> String) {
        guard let maildrop, arguments.count <= 1 else {
            badCommand("-ERR Syntax: \(syntax)")
            return
        }
        if let argument = arguments.first {
            guard let number = liveMessage(argument) else { return }
            reply("+OK " + line(number))
            return
        }
        var lines = ["+OK \(maildrop.liveCount) messages (\(maildrop.liveOctets) octets)"]
        for number in 1...max(maildrop.messages.count, 1) where maildrop.live(number) != nil {
            lines.append(line(number))
        }
        replyMultiline(lines)
    }

    /// The message number in `argument` when it names a message not marked as
    /// deleted; otherwise the `-ERR` is already sent and the result is nil.
    private mutating func liveMessage(_ argument: String) -> Int? {
        guard let maildrop, let number = Self.messageNumber(argument) else {
            badCommand("-ERR Invalid message number")
            return nil
        }
        guard number <= maildrop.messages.count else {
            badCommand("-ERR No such message")
            return nil
        }
        guard maildrop.live(number) != nil else {
            badCommand("-ERR Message \(number) already deleted")
            return nil
        }
        return number
    }

    private mutating func retrieve(_ argument: String, bodyLines: Int?) {
        guard let number = liveMessage(argument), let message = maildrop?.live(number) else { return }
        mode = .awaiting(.retrieve(number: number, bodyLines: bodyLines))
        emit(.mailbox(.fetchBodies(mailbox: Self.inbox, uids: [message.uid])))
    }

    /// QUIT in the TRANSACTION state: remove what DELE marked, then unlock, then say
    /// goodbye.
    private mutating func enterUpdate() {
        let uids = maildrop?.deletedUIDs ?? []
        guard !uids.isEmpty else {
            releaseLock(reply: signOff, close: true)
            return
        }
        mode = .awaiting(.remove)
        emit(.mailbox(.remove(mailbox: Self.inbox, uids: uids)))
    }

    private var signOff: String {
        "+OK \(policy.serverName) MailEdge POP3 signing off (\(maildrop?.liveCount ?? 0) messages left)"
    }

    private mutating func releaseLock(reply: String, close: Bool) {
        lockHeld = false
        mode = .awaiting(.unlock(reply: reply, close: close))
        emit(.mailbox(.unlock(mailbox: Self.inbox)))
    }

    // MARK: Mailbox results

    public mutating func mailboxCompleted(_ result: MailboxResult) -> [POP3Action] {
        guard case .awaiting(let pending) = mode else {
            if mode == .closed, abandoned == .lock, result == .done {
                // The lock was granted after the connection went away: give it back.
                abandoned = nil
                return [.mailbox(.unlock(mailbox: Self.inbox))]
            }
            abandoned = nil
            return []
        }
        switch pending {
        case .authentication:
            return []
        case .lock:
            lockCompleted(result)
        case .snapshot:
            if case .snapshot(let snapshot) = result {
                let drop = POP3Maildrop(snapshot)
                maildrop = drop
                mode = .transaction
                reply("+OK Logged in, \(drop.liveCount) messages (\(drop.liveOctets) octets)")
            } else {
                releaseLock(reply: "-ERR [SYS/TEMP] Unable to open the maildrop", close: false)
            }
        case .retrieve(let number, let bodyLines):
            mode = .transaction
            retrieveCompleted(result, number: number, bodyLines: bodyLines)
        case .remove:
            switch result {
            case .expunged, .done:
                releaseLock(reply: signOff, close: true)
            default:
                releaseLock(reply: "-ERR [SYS/TEMP] Some deleted messages not removed", close: true)
            }
        case .unlock(let text, let shouldClose):
            reply(text)
            if shouldClose {
                close()
            } else {
                authenticatedUser = nil
                maildrop = nil
                mode = .authorization
            }
        }
        drive()
        return takeOutbox()
    }

    private mutating func lockCompleted(_ result: MailboxResult) {
        switch result {
        case .done:
            lockHeld = true
            mode = .awaiting(.snapshot)
            emit(.mailbox(.snapshot(mailbox: Self.inbox)))
        case .failure(.locked):
            authenticatedUser = nil
            mode = .authorization
            reply("-ERR [IN-USE] Mailbox is locked by another POP3 session")
        default:
            authenticatedUser = nil
            mode = .authorization
            reply("-ERR [SYS/TEMP] Unable to lock the maildrop")
        }
    }

    private mutating func retrieveCompleted(_ result: MailboxResult, number: Int, bodyLines: Int?) {
        guard case .bodies(let bodies) = result else {
            reply("-ERR [SYS/TEMP] Unable to read message \(number)")
            return
        }
        guard let message = maildrop?.messages[number - 1], let body = bodies[message.uid] else {
            reply("-ERR [SYS/TEMP] Message \(number) is no longer available")
            return
        }
        let status = bodyLines == nil ? "+OK \(message.size) octets\r\n" : "+OK\r\n"
        var bytes = Array(status.utf8)
        bytes.append(contentsOf: POP3MessageFormatter.multiline(body, bodyLines: bodyLines))
        emit(.send(bytes))
    }

    // MARK: Arguments

    /// A message number: decimal digits only, 1 or more (RFC 1939 `msg`).
    static func messageNumber(_ text: String) -> Int? {
        guard !text.isEmpty, text.utf8.count <= 9, text.utf8.allSatisfy({ (0x30...0x39).contains($0) }),
              let value = Int(text), value > 0 else { return nil }
        return value
    }

    /// TOP's line count: decimal digits, 0 or more; huge values mean "all lines".
    static func lineCount(_ text: String) -> Int? {
        guard !text.isEmpty, text.utf8.allSatisfy({ (0x30...0x39).contains($0) }) else { return nil }
        return Int(text) ?? Int.max
    }
}
