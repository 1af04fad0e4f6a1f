import Foundation

/// One POP3 server session (RFC 1939 with CAPA, RFC 2449 response codes, STLS from
/// RFC 2595 and SASL PLAIN from RFC 5034) as a pure state machine: bytes in,
/// `POP3Action`s out.
///
/// Owned by one connection on its event-loop thread; a value type with no locks, no
/// sockets and no C. Work the session cannot do itself (checking a password, locking
/// and reading the maildrop) is requested with an action; until the matching
/// completion call arrives no further input is processed, so pipelined commands are
/// buffered and answered strictly in order, one asynchronous operation at a time.
///
/// The maildrop is the INBOX snapshot taken at login. DELE only marks; the marked
/// messages are removed at QUIT (the UPDATE state), never when the connection drops.
public struct POP3Session {
    enum Mode: Equatable {
        /// `start()` not called yet; input is held until the greeting is out.
        case notStarted
        case authorization
        /// AUTH PLAIN sent `+ `, waiting for the response.
        case saslPlain
        case transaction
        /// An action was emitted; input waits for its completion call.
        case awaiting(PendingOperation)
        /// `.startTLS` was emitted; every byte until `tlsEstablished` is discarded.
        case awaitingTLS
        case closed
    }

    enum PendingOperation: Equatable {
        case authentication(username: String)
        case lock
        case snapshot
        /// RETR (`bodyLines == nil`) or TOP of message `number`.
        case retrieve(number: Int, bodyLines: Int?)
        /// QUIT: removing the messages marked as deleted.
        case remove
        /// Releasing the lock; afterwards `reply` is sent and the session either closes
        /// or returns to the AUTHORIZATION state.
        case unlock(reply: String, close: Bool)
    }

    static let inbox = "INBOX"

    let policy: POP3Policy
    let clientAddress: String
    let clock: @Sendable () -> Date

    var tls: TLSFacts?
    /// The name from USER, waiting for PASS.
    var pendingUsername: String?
    var authenticatedUser: String?
    var maildrop: POP3Maildrop?
    var lockHeld = false
    /// The operation in flight when the session closed; its late result may still
    /// need an answer (a lock granted after close is released at once).
    var abandoned: PendingOperation?
    var mode: Mode = .notStarted
    var input = SessionInputBuffer()
    var framer = SMTPLineFramer()
    var badCommands = 0
    var outbox: [POP3Action] = []

    public init(policy: POP3Policy, clientAddress: String, tls: TLSFacts?,
                clock: @escaping @Sendable () -> Date) {
        self.policy = policy
        self.clientAddress = clientAddress
        self.tls = tls
        self.clock = clock
    }

    /// True between a successful `.lock` and the `.unlock` the session emits itself at
    /// QUIT. While it is true and the connection goes away (drop, timeout, shutdown,
    /// too many errors) the connection must send `.unlock(mailbox: "INBOX")`.
    public var holdsLock: Bool { lockHeld }
    public var isTLSActive: Bool { tls != nil }
    public var isAuthenticated: Bool { authenticatedUser != nil }
    public var isClosed: Bool { mode == .closed }

    // MARK: Events from the connection

    /// The greeting. Input that arrived before it is processed afterwards.
    public mutating func start() -> [POP3Action] {
        guard mode == .notStarted else { return [] }
        emit(.send(policy.greeting))
        mode = .authorization
        drive()
        return takeOutbox()
    }

    public mutating func receive<C: Collection>(_ bytes: C) -> [POP3Action] where C.Element == UInt8 {
        receiveInput(bytes)
    }

    /// The server's entry point (the channel's read buffer), specialized in this
    /// module: a generic call from another module runs unspecialized.
    public mutating func receive(_ bytes: UnsafeBufferPointer<UInt8>) -> [POP3Action] {
        receiveInput(bytes)
    }

    private mutating func receiveInput<C: Collection>(_ bytes: C) -> [POP3Action] where C.Element == UInt8 {
        switch mode {
        case .closed, .awaitingTLS:
            // After STLS nothing sent in cleartext may ever be executed.
            return []
        default:
            break
        }
        input.append(bytes)
        if isWaiting, input.unreadCount > policy.pipelineLimit {
            reply("-ERR [SYS/PERM] Too much pipelined input")
            emit(.limitReached("more than \(policy.pipelineLimit) bytes of pipelined input"))
            close()
            return takeOutbox()
        }
        drive()
        return takeOutbox()
    }

    /// After the STLS handshake (or, for implicit TLS, before `start()`). Resets
    /// everything the client said in cleartext; the client speaks next.
    public mutating func tlsEstablished(_ facts: TLSFacts) -> [POP3Action] {
        switch mode {
        case .notStarted, .awaitingTLS, .authorization, .saslPlain:
            break
        default:
            // Never in the middle of a login or with a maildrop open.
            return []
        }
        tls = facts
        pendingUsername = nil
        authenticatedUser = nil
        maildrop = nil
        input.discardAll()
        framer.reset()
        if mode != .notStarted { mode = .authorization }
        return []
    }

    public mutating func authenticationCompleted(success: Bool) -> [POP3Action] {
        guard case .awaiting(.authentication(let username)) = mode else { return [] }
        if success {
            authenticatedUser = username
            mode = .awaiting(.lock)
            emit(.mailbox(.lock(mailbox: Self.inbox)))
        } else {
            mode = .authorization
            badCommand("-ERR [AUTH] Authentication failed")
        }
        drive()
        return takeOutbox()
    }

    public mutating func idleTimeout() -> [POP3Action] {
        terminate("-ERR [SYS/TEMP] idle timeout")
    }

    public mutating func shutdown() -> [POP3Action] {
        terminate("-ERR [SYS/TEMP] Server shutting down")
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
            case .authorization, .transaction, .saslPlain:
                let sasl = mode == .saslPlain
                guard let line = framer.nextLine(in: &input, commandLimit: policy.commandLineLimit,
                                                 authLimit: policy.authLineLimit,
                                                 saslResponse: sasl) else {
                    input.compact()
                    return
                }
                switch line {
                case .tooLong:
                    if sasl { mode = .authorization }
                    let limit = sasl ? policy.authLineLimit : policy.commandLineLimit
                    emit(.limitReached("line longer than \(limit) bytes"))
                    badCommand("-ERR line too long")
                case .line(let bytes):
                    if sasl { handleSASLResponse(bytes) } else { handleCommandLine(bytes) }
                }
            }
        }
    }

    /// Splits a command line into its keyword and arguments (RFC 1939: a keyword, then
    /// arguments separated by single spaces) and dispatches it by state.
    mutating func handleCommandLine(_ line: [UInt8]) {
        let space = line.firstIndex(of: 0x20)
        let keywordBytes = line[..<(space ?? line.endIndex)]
        let rawArgument = space.map { Array(line[($0 + 1)...]) } ?? []
        guard !keywordBytes.isEmpty, keywordBytes.count <= 8,
              keywordBytes.allSatisfy({ (0x41...0x5A).contains($0 & 0xDF) }) else {
            badCommand("-ERR Unknown command")
            return
        }
        let keyword = String(decoding: keywordBytes, as: UTF8.self).uppercased()
        if keyword == "PASS" {
            // The password is the rest of the line, spaces included; never parsed or
            // kept beyond the `.authenticate` action.
            pass(rawArgument)
            return
        }
        guard !rawArgument.contains(where: { $0 < 0x20 || $0 == 0x7F }) else {
            badCommand("-ERR Invalid characters in command")
            return
        }
        let arguments = String(decoding: rawArgument, as: UTF8.self)
            .split(separator: " ").map(String.init)
        if mode == .transaction {
            transactionCommand(keyword, arguments)
        } else {
            authorizationCommand(keyword, arguments)
        }
    }

    // MARK: Output

    mutating func emit(_ action: POP3Action) {
        if case .send(let bytes) = action, case .send(let previous)? = outbox.last {
            outbox[outbox.count - 1] = .send(previous + bytes)
        } else {
            outbox.append(action)
        }
    }

    /// One status line; CRLF is appended.
    mutating func reply(_ line: String) {
        emit(.send(SessionOutput.line(line)))
    }

    /// A multi-line response: the lines, each CRLF-terminated, and the final ".".
    /// Lines are generated by the session and never start with ".".
    mutating func replyMultiline(_ lines: [String]) {
        emit(.send(Array((lines.joined(separator: "\r\n") + "\r\n.\r\n").utf8)))
    }

    /// A `-ERR` caused by the client; at the limit the session closes.
    mutating func badCommand(_ line: String) {
        reply(line)
        badCommands += 1
        if badCommands >= policy.badCommandLimit {
            reply("-ERR [SYS/PERM] Too many bad commands, closing connection")
            emit(.limitReached("\(policy.badCommandLimit) bad commands"))
            close()
        }
    }

    /// Closes without the UPDATE state: nothing marked as deleted is removed. A lock
    /// still held is released by the connection (`holdsLock`).
    mutating func close() {
        if case .awaiting(let pending) = mode { abandoned = pending }
        emit(.close)
        mode = .closed
        input.discardAll()
        framer.reset()
        pendingUsername = nil
        maildrop = nil
    }

    mutating func takeOutbox() -> [POP3Action] {
        let actions = outbox
        outbox = []
        return actions
    }

    private mutating func terminate(_ line: String) -> [POP3Action] {
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
}
