import Foundation

/// One IMAP server session (IMAP4rev1, RFC 3501, with the RFC 9051 behaviour clients
/// rely on, RFC 2595 STARTTLS, LITERAL+, SASL-IR, IDLE, UIDPLUS, UNSELECT, ID, ENABLE)
/// as a pure state machine: bytes in, `IMAPAction`s out.
///
/// Owned by one connection on its event-loop thread; a value type with no locks, no
/// sockets and no file I/O. Work the session cannot do itself (checking a password,
/// reading or changing the mailbox) is requested with an action; until the matching
/// completion call arrives no further input is processed, so pipelined commands wait
/// in a bounded buffer and are answered strictly in order. A command that needs
/// several store round trips (FETCH of bodies in chunks, STORE then the replies)
/// issues them one at a time.
public struct IMAPSession {
    enum Mode: Equatable {
        /// `start()` not called yet; input is held until the greeting is out.
        case notStarted
        case command
        /// AUTHENTICATE PLAIN sent `+ `, waiting for the client's response line.
        case authenticateResponse(tag: String)
        /// Between `+ idling` and DONE.
        case idling(tag: String)
        /// An action was emitted; `pending` says what its completion continues.
        case awaiting
        /// `.startTLS` was emitted; every byte until `tlsEstablished` is discarded.
        case awaitingTLS
        case closed
    }

    /// The session's view of the selected mailbox: what the client has been told.
    /// Sequence number n is `messages[n - 1]`; UIDs ascend.
    struct Selection {
        var name: String
        var readOnly: Bool
        var uidValidity: UInt32
        var uidNext: UInt32
        var messages: [MessageSummary]
        var recent: Set<UInt32>

        var count: UInt32 { UInt32(messages.count) }
        var highestUID: UInt32 { messages.last?.uid ?? 0 }

        func index(ofUID uid: UInt32) -> Int? {
            var low = 0
            var high = messages.count - 1
            while low <= high {
                let mid = (low + high) / 2
                let value = messages[mid].uid
                if value == uid { return mid }
                if value < uid { low = mid + 1 } else { high = mid - 1 }
            }
            return nil
        }

        func flags(of message: MessageSummary) -> String {
            IMAPResponseWriter.flagList(message.flags, recent: recent.contains(message.uid))
        }
    }

    let policy: IMAPPolicy
    let clientAddress: String
    let clock: @Sendable () -> Date

    var tls: TLSFacts?
    var user: String?
    var selection: Selection?
    /// A snapshot from the store newer than `selection`, not yet (fully) reported.
    var latest: MailboxSnapshot?
    var mode: Mode = .notStarted
    var pending: IMAPPending?
    var input = SessionInputBuffer()
    var framer = IMAPCommandFramer()
    var badCount = 0
    var outbox: [IMAPAction] = []
    var sendBuffer: [UInt8] = []

    public init(policy: IMAPPolicy, clientAddress: String, tls: TLSFacts?,
                clock: @escaping @Sendable () -> Date) {
        self.policy = policy
        self.clientAddress = clientAddress
        self.tls = tls
        self.clock = clock
    }

    public var isTLSActive: Bool { tls != nil }
    public var isAuthenticated: Bool { user != nil }
    public var isClosed: Bool { mode == .closed }
    public var selectedMailbox: String? { selection?.name }
    public var authenticatedUser: String? { user }
    public var isIdling: Bool {
        if case .idling = mode { return true }
        if case .refresh(.idle)? = pending { return true }
        return false
    }

    // MARK: Events from the connection

    /// The greeting. Input that arrived before it is processed afterwards.
    public mutating func start() -> [IMAPAction] {
        guard mode == .notStarted else { return [] }
        emit(.send(policy.greeting(tlsActive: tls != nil)))
        mode = .command
        drive()
        return takeOutbox()
    }

    public mutating func receive<C: Collection>(_ bytes: C) -> [IMAPAction] where C.Element == UInt8 {
        receiveInput(bytes)
    }

    /// The server's entry point (the channel's read buffer), specialized in this
    /// module: a generic call from another module runs unspecialized.
    public mutating func receive(_ bytes: UnsafeBufferPointer<UInt8>) -> [IMAPAction] {
        receiveInput(bytes)
    }

    private mutating func receiveInput<C: Collection>(_ bytes: C) -> [IMAPAction] where C.Element == UInt8 {
        switch mode {
        case .closed, .awaitingTLS:
            // After STARTTLS nothing sent in cleartext may ever be executed.
            return []
        default:
            break
        }
        input.append(bytes)
        if isWaiting, input.unreadCount > policy.pendingInputLimit {
            reply("* BYE Too much pipelined input")
            emit(.limitReached("more than \(policy.pendingInputLimit) bytes of pipelined input"))
            close()
            return takeOutbox()
        }
        drive()
        return takeOutbox()
    }

    /// After the STARTTLS handshake (or, for implicit TLS, before `start()`). Resets
    /// everything the client said in cleartext; the client speaks next.
    public mutating func tlsEstablished(_ facts: TLSFacts) -> [IMAPAction] {
        guard mode != .closed, mode != .awaiting else { return [] }
        tls = facts
        user = nil
        selection = nil
        latest = nil
        pending = nil
        input.discardAll()
        framer.reset()
        if mode != .notStarted { mode = .command }
        return []
    }

    public mutating func authenticationCompleted(success: Bool) -> [IMAPAction] {
        guard mode == .awaiting, case .authentication(let tag, let username)? = pending else { return [] }
        pending = nil
        mode = .command
        if success {
            user = username
            reply("\(tag) OK [CAPABILITY \(capabilities)] Logged in")
        } else {
            reply("\(tag) NO [AUTHENTICATIONFAILED] Authentication failed")
            // Failed logins count like bad commands: it bounds guessing per connection.
            countError()
        }
        drive()
        return takeOutbox()
    }

    public mutating func mailboxCompleted(_ result: MailboxResult) -> [IMAPAction] {
        guard mode == .awaiting, let step = pending, !step.isAuthentication else { return [] }
        pending = nil
        mode = .command
        continueCommand(step, with: result)
        drive()
        return takeOutbox()
    }

    public mutating func idleTimeout() -> [IMAPAction] {
        terminate("* BYE Autologout; idle for too long")
    }

    public mutating func shutdown() -> [IMAPAction] {
        terminate("* BYE Server shutting down")
    }

    // MARK: Input processing

    var isWaiting: Bool { mode == .notStarted || mode == .awaiting }

    /// Processes buffered input until it runs out or the session has to wait.
    mutating func drive() {
        while true {
            switch mode {
            case .notStarted, .awaiting, .awaitingTLS, .closed:
                input.compact()
                return
            case .idling(let tag), .authenticateResponse(let tag):
                guard let line = framer.nextLine(in: &input, limit: policy.lineLimit) else {
                    input.compact()
                    return
                }
                if case .idling = mode { endIdle(tag: tag, line: line) } else { handleSASLResponse(tag: tag, line: line) }
            case .command:
                // Only a logged-in user may upload a message-sized literal.
                let appendLimit = user != nil ? policy.literalLimit : policy.lineLimit
                guard let event = framer.nextEvent(in: &input, lineLimit: policy.lineLimit,
                                                   appendLiteralLimit: appendLimit) else {
                    input.compact()
                    return
                }
                switch event {
                case .command(let bytes):
                    handleCommand(bytes)
                case .continuationNeeded:
                    reply("+ Ready for literal data")
                case .lineTooLong:
                    emit(.limitReached("command line longer than \(policy.lineLimit) bytes"))
                    bad(nil, "line too long")
                case .literalTooLarge(let tag, let append):
                    if append, user != nil {
                        emit(.limitReached("APPEND literal larger than \(policy.literalLimit) bytes"))
                        reply("\(tag ?? "*") NO [TOOBIG] Message too large")
                    } else {
                        emit(.limitReached("literal larger than \(policy.lineLimit) bytes"))
                        bad(tag, "Literal too large")
                    }
                }
            }
        }
    }

    // MARK: Output

    /// Consecutive sends are joined into one `.send` (appended in place: a chunk of
    /// FETCH literals can be megabytes).
    mutating func emit(_ action: IMAPAction) {
        if case .send(let bytes) = action {
            // The first send of a turn shares the bytes' storage (a prepared reply is
            // not copied); a later append copies on write.
            if sendBuffer.isEmpty { sendBuffer = bytes } else { sendBuffer.append(contentsOf: bytes) }
            return
        }
        flushSends()
        outbox.append(action)
    }

    private mutating func flushSends() {
        guard !sendBuffer.isEmpty else { return }
        outbox.append(.send(sendBuffer))
        sendBuffer = []
    }

    /// One response line: its bytes and CRLF go straight into the send buffer (no
    /// joined String and no Array per line).
    mutating func reply(_ line: String) {
        sendBuffer.appendUTF8(line)
        sendBuffer.append(contentsOf: SessionOutput.crlf)
    }

    /// `<tag> <text>`, written the same way (no interpolated String).
    mutating func reply(tag: String, _ text: String) {
        sendBuffer.reserveCapacity(sendBuffer.count + tag.utf8.count + text.utf8.count + 3)
        sendBuffer.appendUTF8(tag)
        sendBuffer.append(0x20)
        sendBuffer.appendUTF8(text)
        sendBuffer.append(contentsOf: SessionOutput.crlf)
    }

    /// `<tag> BAD text` (or `* BAD` without a tag); counts against maxBadCommands.
    mutating func bad(_ tag: String?, _ text: String) {
        reply("\(tag ?? "*") BAD \(text)")
        countError()
    }

    mutating func countError() {
        badCount += 1
        guard badCount >= policy.badCommandLimit, mode != .closed else { return }
        reply("* BYE Too many invalid commands")
        emit(.limitReached("\(policy.badCommandLimit) invalid commands"))
        close()
    }

    /// Emits a store request; the session waits for `mailboxCompleted`.
    mutating func request(_ operation: MailboxOperation, then step: IMAPPending) {
        pending = step
        mode = .awaiting
        emit(.mailbox(operation))
    }

    /// The tagged reply that ends a command, preceded by the mailbox updates the
    /// client may be told now (no EXPUNGE during FETCH, STORE and SEARCH).
    mutating func finish(_ tag: String, _ text: String, allowExpunge: Bool = true) {
        if selection != nil, latest != nil { reportUpdates(allowExpunge: allowExpunge) }
        guard mode != .closed else { return }
        reply(tag: tag, text)
    }

    mutating func close() {
        emit(.close)
        mode = .closed
        pending = nil
        input.discardAll()
        framer.reset()
    }

    mutating func takeOutbox() -> [IMAPAction] {
        flushSends()
        let actions = outbox
        outbox = []
        return actions
    }

    private mutating func terminate(_ line: String) -> [IMAPAction] {
        switch mode {
        case .closed:
            return []
        case .awaitingTLS:
            // Mid-handshake a cleartext reply would only corrupt the TLS stream.
            close()
        default:
            reply(line)
            close()
        }
        return takeOutbox()
    }

    // MARK: Capabilities

    var capabilities: String { policy.capabilities(tlsActive: tls != nil, authenticated: user != nil) }

    var plaintextAuthAllowed: Bool { policy.plaintextAuthAllowed(tlsActive: tls != nil) }
}
