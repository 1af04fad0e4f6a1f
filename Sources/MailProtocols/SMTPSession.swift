import Foundation

/// One SMTP server session (RFC 5321 with STARTTLS, AUTH, SIZE, 8BITMIME, PIPELINING
/// and enhanced status codes) as a pure state machine: bytes in, `SMTPAction`s out.
///
/// Owned by one connection on its event-loop thread; a value type with no locks, no
/// sockets and no C. Work the session cannot do itself (checking a password, looking
/// up a recipient, storing a message) is requested with an action; until the matching
/// completion call arrives no further input is processed, so pipelined commands are
/// buffered and answered strictly in order.
public struct SMTPSession {
    enum Mode: Equatable {
        /// `start()` not called yet; input is held until the greeting is out.
        case notStarted
        case command
        /// AUTH PLAIN sent `334 `, waiting for the response.
        case saslPlain
        case saslLoginUsername
        case saslLoginPassword(username: String)
        /// Between `354` and the end-of-data line.
        case data
        /// An action was emitted; input waits for its completion call.
        case awaiting(PendingOperation)
        /// `.startTLS` was emitted; every byte until `tlsEstablished` is discarded.
        case awaitingTLS
        case closed
    }

    enum PendingOperation: Equatable {
        case authentication(username: String)
        case recipient(address: String)
        case delivery
    }

    struct Transaction {
        var mailFrom: String
        /// A secure domain proven by mutual TLS at MAIL FROM.
        var partnerDomain: String?
        var recipients: [String] = []
        /// Lower-cased recipients, for case-insensitive duplicate removal.
        var recipientKeys: Set<String> = []

        mutating func add(_ address: String) {
            if recipientKeys.insert(address.lowercased()).inserted { recipients.append(address) }
        }

        func contains(_ address: String) -> Bool { recipientKeys.contains(address.lowercased()) }
    }

    let policy: SMTPPolicy
    let clientAddress: String
    let clock: @Sendable () -> Date

    var tls: TLSFacts?
    var heloName: String?
    /// EHLO (true) or HELO (false); decides the Received protocol keyword.
    var extended = false
    var authenticatedUser: String?
    var transaction: Transaction?
    var mode: Mode = .notStarted
    var input = SessionInputBuffer()
    var framer = SMTPLineFramer()
    var dataReader: SMTPDataReader?
    var errorCount = 0
    var messageCount = 0
    /// Random per session, so Received ids from concurrent sessions differ; drawn
    /// at the first message (a getrandom call per connection otherwise).
    var sessionTag: UInt32?
    var outbox: [SMTPAction] = []

    public init(policy: SMTPPolicy, clientAddress: String, tls: TLSFacts?,
                clock: @escaping @Sendable () -> Date) {
        self.policy = policy
        self.clientAddress = clientAddress
        self.tls = tls
        self.clock = clock
    }

    public var isTLSActive: Bool { tls != nil }
    public var isAuthenticated: Bool { authenticatedUser != nil }
    public var isClosed: Bool { mode == .closed }

    // MARK: Events from the connection

    /// The greeting. Input that arrived before it is processed afterwards.
    public mutating func start() -> [SMTPAction] {
        guard mode == .notStarted else { return [] }
        emit(.send(policy.greeting))
        mode = .command
        drive()
        return takeOutbox()
    }

    public mutating func receive<C: Collection>(_ bytes: C) -> [SMTPAction] where C.Element == UInt8 {
        receiveInput(bytes)
    }

    /// The server's entry point (the channel's read buffer), specialized in this
    /// module: a generic call from another module runs unspecialized.
    public mutating func receive(_ bytes: UnsafeBufferPointer<UInt8>) -> [SMTPAction] {
        receiveInput(bytes)
    }

    private mutating func receiveInput<C: Collection>(_ bytes: C) -> [SMTPAction] where C.Element == UInt8 {
        switch mode {
        case .closed, .awaitingTLS:
            // After STARTTLS nothing sent in cleartext may ever be executed.
            return []
        default:
            break
        }
        input.append(bytes)
        if isWaiting, input.unreadCount > policy.pipelineLimit {
            reply("421 4.7.0 \(policy.fqdn) Error: too much pipelined input")
            emit(.limitReached(.pipelinedInputTooLarge(limit: policy.pipelineLimit)))
            close()
            return takeOutbox()
        }
        drive()
        return takeOutbox()
    }

    /// After the STARTTLS handshake (or, for implicit TLS, optionally before `start()`).
    /// Resets everything the client said in cleartext; the client speaks next.
    public mutating func tlsEstablished(_ facts: TLSFacts) -> [SMTPAction] {
        guard mode != .closed else { return [] }
        tls = facts
        heloName = nil
        extended = false
        authenticatedUser = nil
        transaction = nil
        dataReader = nil
        input.discardAll()
        framer.reset()
        if mode != .notStarted { mode = .command }
        return []
    }

    public mutating func authenticationCompleted(success: Bool) -> [SMTPAction] {
        guard case .awaiting(.authentication(let username)) = mode else { return [] }
        mode = .command
        if success {
            authenticatedUser = username
            reply("235 2.7.0 Authentication successful")
        } else {
            protocolError("535 5.7.8 Authentication credentials invalid")
        }
        drive()
        return takeOutbox()
    }

    public mutating func recipientVerified(_ verdict: RecipientVerdict) -> [SMTPAction] {
        guard case .awaiting(.recipient(let address)) = mode else { return [] }
        mode = .command
        switch verdict {
        case .local, .relay:
            transaction?.add(address)
            reply("250 2.1.5 Ok")
        case .unknownUser:
            // Rejections count as errors: it bounds directory harvesting per connection.
            protocolError("550 5.1.1 <\(address)>: Recipient address rejected: User unknown")
        case .relayDenied:
            protocolError("554 5.7.1 <\(address)>: Relay access denied")
        case .temporaryFailure:
            reply("451 4.3.0 <\(address)>: Temporary lookup failure")
        }
        drive()
        return takeOutbox()
    }

    public mutating func deliveryCompleted(_ result: DeliveryResult) -> [SMTPAction] {
        guard mode == .awaiting(.delivery) else { return [] }
        mode = .command
        transaction = nil
        switch result {
        case .queued(let id):
            reply("250 2.0.0 Ok: queued as \(Self.replySafe(id, fallback: "unknown"))")
        case .temporaryFailure:
            reply("451 4.3.0 Error: queue file write error")
        case .permanentFailure(let message):
            reply("554 5.3.0 \(Self.replySafe(message, fallback: "Error: delivery failed"))")
        }
        drive()
        return takeOutbox()
    }

    public mutating func idleTimeout() -> [SMTPAction] {
        terminate("421 4.4.2 \(policy.fqdn) Error: timeout exceeded")
    }

    public mutating func shutdown() -> [SMTPAction] {
        terminate("421 4.3.2 \(policy.fqdn) Service shutting down")
    }

    // MARK: Input processing

    /// True while input must wait (no greeting yet, or an asynchronous result pending).
    var isWaiting: Bool {
        switch mode {
        case .notStarted, .awaiting: return true
        default: return false
        }
    }

    /// Processes buffered input until it runs out or the session has to wait.
    mutating func drive() {
        while true {
            switch mode {
            case .notStarted, .awaiting, .awaitingTLS, .closed:
                input.compact()
                return
            case .data:
                guard var reader = dataReader else {
                    mode = .command
                    continue
                }
                dataReader = nil  // keep the message buffer uniquely referenced
                if reader.consume(from: &input) {
                    finishData(reader)
                } else {
                    dataReader = reader
                    input.compact()
                    return
                }
            case .command, .saslPlain, .saslLoginUsername, .saslLoginPassword:
                let sasl = mode != .command
                guard let line = framer.nextLine(in: &input, commandLimit: policy.commandLineLimit,
                                                 authLimit: policy.authLineLimit,
                                                 saslResponse: sasl) else {
                    input.compact()
                    return
                }
                switch line {
                case .tooLong:
                    if sasl { mode = .command }
                    emit(.limitReached(.lineTooLong(limit: sasl ? policy.authLineLimit : policy.commandLineLimit)))
                    protocolError("500 5.5.2 Line too long")
                case .line(let bytes):
                    if sasl { handleSASLResponse(bytes) } else { handleCommandLine(bytes) }
                }
            }
        }
    }

    /// End of DATA: either the size limit was broken or the message goes to delivery.
    mutating func finishData(_ reader: SMTPDataReader) {
        var reader = reader
        guard !reader.overflowed else {
            transaction = nil
            mode = .command
            reply("552 5.3.4 Message size exceeds fixed maximum message size")
            emit(.limitReached(.messageTooLarge(limit: policy.messageSizeLimit)))
            return
        }
        guard let transaction, let heloName else {
            mode = .command
            return
        }
        messageCount += 1
        let tag = sessionTag ?? UInt32.random(in: 0...UInt32.max)
        sessionTag = tag
        let now = clock()
        let seconds = UInt64(max(0, min(now.timeIntervalSince1970, 1e15)))
        let id = String(seconds, radix: 36, uppercase: true)
            + String(tag, radix: 36, uppercase: true) + "." + String(messageCount)
        let header = SMTPReceivedHeader(
            heloName: heloName, clientAddress: clientAddress, serverName: policy.fqdn,
            extended: extended, tls: tls, authenticated: authenticatedUser != nil, id: id,
            recipients: transaction.recipients, date: now)
        // Only this server may say how a sender authenticated.
        let body = removingReservedHeaders(reader.takeMessage())
        var message = header.bytes
        if let domain = transaction.partnerDomain {
            message += Array("X-MailEdge-AuthAs: Partner\r\nX-MailEdge-AuthMechanism: MutualTLS\r\nX-MailEdge-AuthDomain: \(domain)\r\n".utf8)
        }
        message.reserveCapacity(message.count + body.count)
        message.append(contentsOf: body)
        var envelope = SMTPEnvelope(
            heloName: heloName, clientAddress: clientAddress, mailFrom: transaction.mailFrom,
            recipients: transaction.recipients, authenticatedUser: authenticatedUser, tls: tls,
            message: message)
        envelope.partnerDomain = transaction.partnerDomain
        mode = .awaiting(.delivery)
        emit(.deliver(envelope))
    }

    // MARK: Output

    mutating func emit(_ action: SMTPAction) {
        if case .send(let text) = action, case .send(let previous)? = outbox.last {
            outbox[outbox.count - 1] = .send(previous + text)
        } else {
            outbox.append(action)
        }
    }

    mutating func reply(_ line: String) {
        emit(.send(line + "\r\n"))
    }

    /// A reply that counts against `maxErrors`; at the limit the session says 421 and
    /// closes.
    mutating func protocolError(_ line: String) {
        reply(line)
        errorCount += 1
        if errorCount >= policy.errorLimit {
            reply("421 4.7.0 \(policy.fqdn) Error: too many errors")
            emit(.limitReached(.tooManyErrors(limit: policy.errorLimit)))
            close()
        }
    }

    mutating func close() {
        emit(.close)
        mode = .closed
        input.discardAll()
        framer.reset()
        dataReader = nil
        transaction = nil
    }

    mutating func takeOutbox() -> [SMTPAction] {
        let actions = outbox
        outbox = []
        return actions
    }

    private mutating func terminate(_ line: String) -> [SMTPAction] {
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

    /// Text from the backend, made safe for a reply line: printable ASCII only, bounded.
    static func replySafe(_ text: String, fallback: String) -> String {
        let cleaned = String(text.unicodeScalars.prefix(200).map { scalar -> Character in
            (0x20...0x7E).contains(scalar.value) ? Character(scalar) : "?"
        })
        let trimmed = SMTPCommandParser.trimBlanks(cleaned)
        return trimmed.isEmpty ? fallback : trimmed
    }
}
