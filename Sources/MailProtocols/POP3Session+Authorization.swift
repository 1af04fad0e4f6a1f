import Foundation

/// The AUTHORIZATION state of `POP3Session`: CAPA, STLS, USER/PASS and AUTH PLAIN.
/// Credentials go straight into `POP3Action.authenticate` and are neither stored nor
/// echoed. Before TLS, logins are refused unless the connector allows plaintext.
extension POP3Session {
    static let plaintextDisallowed = "-ERR [AUTH] Plaintext authentication disallowed on non-secure connections"

    var offersSTLS: Bool {
        policy.tlsMode == .starttls && tls == nil && policy.tlsAvailable
    }

    /// USER/PASS and AUTH are offered once TLS is up; before TLS only when the
    /// connector explicitly allows plaintext passwords.
    var offersAuth: Bool { tls != nil || policy.allowPlaintextAuth }

    mutating func authorizationCommand(_ keyword: String, _ arguments: [String]) {
        switch keyword {
        case "CAPA": capa(arguments)
        case "STLS": stls(arguments)
        case "USER": user(arguments)
        case "AUTH": auth(arguments)
        case "QUIT":
            guard arguments.isEmpty else {
                badCommand("-ERR Syntax: QUIT")
                return
            }
            reply("+OK \(policy.serverName) MailEdge POP3 signing off")
            close()
        case "STAT", "LIST", "UIDL", "RETR", "TOP", "DELE", "RSET", "NOOP", "LAST":
            badCommand("-ERR Command not valid in this state, log in first")
        default:
            badCommand("-ERR Unknown command")
        }
    }

    // MARK: CAPA (RFC 2449)

    mutating func capa(_ arguments: [String]) {
        guard arguments.isEmpty else {
            badCommand("-ERR Syntax: CAPA")
            return
        }
        var lines = ["+OK Capability list follows"]
        if mode == .authorization, offersSTLS { lines.append("STLS") }
        lines += ["TOP", "UIDL", "RESP-CODES", "PIPELINING", "AUTH-RESP-CODE"]
        if mode == .authorization, offersAuth { lines += ["USER", "SASL PLAIN"] }
        lines.append("IMPLEMENTATION MailEdge")
        replyMultiline(lines)
    }

    // MARK: STLS (RFC 2595)

    mutating func stls(_ arguments: [String]) {
        guard arguments.isEmpty else {
            badCommand("-ERR Syntax: STLS")
            return
        }
        guard tls == nil else {
            badCommand("-ERR Command not permitted when TLS active")
            return
        }
        guard policy.tlsMode == .starttls else {
            badCommand("-ERR STLS not supported")
            return
        }
        guard policy.tlsAvailable else {
            reply("-ERR [SYS/TEMP] TLS not available due to local problem")
            return
        }
        reply("+OK Begin TLS negotiation")
        emit(.startTLS)
        // Everything pipelined behind STLS was sent in cleartext: drop it unread.
        mode = .awaitingTLS
        pendingUsername = nil
        input.discardAll()
        framer.reset()
    }

    // MARK: USER / PASS (RFC 1939)

    mutating func user(_ arguments: [String]) {
        guard offersAuth else {
            badCommand(Self.plaintextDisallowed)
            return
        }
        guard arguments.count == 1, let name = arguments.first, name.utf8.count <= 255 else {
            badCommand("-ERR Syntax: USER name")
            return
        }
        pendingUsername = name
        reply("+OK Send your password")
    }

    mutating func pass(_ password: [UInt8]) {
        guard mode == .authorization else {
            badCommand("-ERR Command not valid in this state")
            return
        }
        guard offersAuth else {
            badCommand(Self.plaintextDisallowed)
            return
        }
        guard let username = pendingUsername else {
            badCommand("-ERR No username given, send USER first")
            return
        }
        pendingUsername = nil
        guard !password.isEmpty, let text = String(bytes: password, encoding: .utf8) else {
            badCommand("-ERR [AUTH] Authentication failed")
            return
        }
        requestAuthentication(username: username, password: text)
    }

    // MARK: AUTH (RFC 5034)

    mutating func auth(_ arguments: [String]) {
        guard offersAuth else {
            badCommand(Self.plaintextDisallowed)
            return
        }
        pendingUsername = nil
        guard let mechanism = arguments.first else {
            // The pre-RFC 5034 form clients still use to list mechanisms.
            replyMultiline(["+OK", "PLAIN"])
            return
        }
        guard arguments.count <= 2 else {
            badCommand("-ERR Syntax: AUTH mechanism [initial-response]")
            return
        }
        guard SMTPSASL.Mechanism(rawValue: mechanism.uppercased()) == .plain else {
            badCommand("-ERR Unsupported authentication mechanism")
            return
        }
        if arguments.count == 2 {
            completePlain(SMTPSASL.decodeResponse(Array(arguments[1].utf8)))
        } else {
            reply("+ ")
            mode = .saslPlain
        }
    }

    /// A line sent in answer to the `+ ` continuation.
    mutating func handleSASLResponse(_ line: [UInt8]) {
        mode = .authorization
        if line == [0x2A] {  // "*"
            badCommand("-ERR Authentication cancelled")
            return
        }
        completePlain(SMTPSASL.decodeResponse(line))
    }

    private mutating func completePlain(_ decoded: [UInt8]?) {
        guard let decoded else {
            badCommand("-ERR Cannot decode SASL response")
            return
        }
        switch SMTPSASL.parsePlain(decoded) {
        case .success(let credentials):
            requestAuthentication(username: credentials.username, password: credentials.password)
        case .failure(.malformed):
            badCommand("-ERR Cannot decode SASL response")
        case .failure(.authzidMismatch):
            badCommand("-ERR [AUTH] Authentication failed")
        }
    }

    private mutating func requestAuthentication(username: String, password: String) {
        mode = .awaiting(.authentication(username: username))
        emit(.authenticate(username: username, password: password))
    }
}
