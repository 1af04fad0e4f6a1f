import Foundation

/// The SMTP command handlers of `SMTPSession` (everything but AUTH). Each handler
/// either replies, or emits one asynchronous action and switches the session to wait.
extension SMTPSession {
    mutating func handleCommandLine(_ bytes: [UInt8]) {
        guard case .success(let command) = SMTPCommandParser.parse(bytes) else {
            protocolError("500 5.5.2 Error: bad character in command")
            return
        }
        let argument = command.argument
        switch command.verb {
        case "EHLO": hello(argument, verb: "EHLO")
        case "HELO": hello(argument, verb: "HELO")
        case "STARTTLS": startTLS(argument)
        case "AUTH": auth(argument)
        case "MAIL": mail(argument)
        case "RCPT": rcpt(argument)
        case "DATA": data(argument)
        case "RSET":
            guard argument.isEmpty else {
                protocolError("501 5.5.4 Syntax: RSET")
                return
            }
            transaction = nil
            reply("250 2.0.0 Ok")
        case "NOOP":
            reply("250 2.0.0 Ok")
        case "VRFY":
            guard !argument.isEmpty else {
                protocolError("501 5.5.4 Syntax: VRFY address")
                return
            }
            reply("252 2.5.0 Cannot VRFY user, but will accept message and attempt delivery")
        case "HELP":
            reply("214 2.0.0 Commands: EHLO HELO MAIL RCPT DATA RSET NOOP VRFY HELP QUIT STARTTLS AUTH")
        case "QUIT":
            reply("221 2.0.0 Bye")
            close()
        case "EXPN", "ETRN", "TURN", "BDAT":
            protocolError("502 5.5.1 Error: command not implemented")
        default:
            protocolError("500 5.5.2 Error: command not recognized")
        }
    }

    // MARK: EHLO / HELO

    mutating func hello(_ argument: String, verb: String) {
        // The first word; the rest of the line (an old client's comment) is ignored.
        let words = argument.utf8.drop(while: { $0 == 0x20 })
        let name = String(Substring(words.prefix(while: { $0 != 0x20 })))
        guard !name.isEmpty, name.utf8.count <= 255 else {
            protocolError("501 5.5.4 Syntax: \(verb) hostname")
            return
        }
        transaction = nil
        heloName = name
        extended = verb == "EHLO"
        guard extended else {
            reply("250 \(policy.fqdn)")
            return
        }
        // The policy's rendered parts around the client's name and address: this reply
        // goes out on nearly every connection.
        let tail = policy.ehloTails[(offersStartTLS ? 2 : 0) + (offersAuth ? 1 : 0)]
        var text = policy.ehloPrefix
        text.reserveCapacity(text.utf8.count + name.utf8.count + clientAddress.utf8.count + 4 + tail.utf8.count)
        text += name
        text += " ["
        text += clientAddress
        text += "]\r\n"
        text += tail
        emit(.send(text))
    }

    var offersStartTLS: Bool {
        policy.tlsMode == .starttls && tls == nil && policy.tlsAvailable
    }

    /// AUTH is offered on submission once TLS is up; before TLS only when the connector
    /// explicitly allows cleartext passwords and does not require TLS anyway.
    var offersAuth: Bool {
        policy.role == .submission && (tls != nil || (policy.allowPlaintextAuth && !policy.requireTLS))
    }

    // MARK: STARTTLS

    mutating func startTLS(_ argument: String) {
        guard argument.isEmpty else {
            protocolError("501 5.5.4 Syntax error (no parameters allowed)")
            return
        }
        guard tls == nil else {
            protocolError("503 5.5.1 TLS already active")
            return
        }
        guard policy.tlsMode == .starttls else {
            protocolError("502 5.5.1 STARTTLS not available")
            return
        }
        guard policy.tlsAvailable else {
            reply("454 4.7.0 TLS not available due to local problem")
            return
        }
        guard transaction == nil else {
            protocolError("503 5.5.1 Error: MAIL transaction in progress")
            return
        }
        reply("220 2.0.0 Ready to start TLS")
        emit(.startTLS)
        // CVE-2011-0411: whatever was pipelined behind STARTTLS is never executed.
        input.discardAll()
        framer.reset()
        mode = .awaitingTLS
    }

    // MARK: Mail transaction

    mutating func mail(_ argument: String) {
        guard heloName != nil else {
            protocolError("503 5.5.1 Error: send HELO/EHLO first")
            return
        }
        if policy.requireTLS, tls == nil {
            protocolError("530 5.7.0 Must issue a STARTTLS command first")
            return
        }
        if policy.role == .submission, authenticatedUser == nil {
            protocolError("530 5.7.0 Authentication required")
            return
        }
        guard transaction == nil else {
            protocolError("503 5.5.1 Error: nested MAIL command")
            return
        }
        let address: String
        let parameters: [SMTPParameter]
        switch SMTPCommandParser.parsePath(argument, keyword: "FROM:", allowNull: true, allowPostmaster: false) {
        case .syntaxError:
            protocolError("501 5.5.4 Syntax: MAIL FROM:<address>")
            return
        case .badAddress:
            protocolError("501 5.1.7 Bad sender address syntax")
            return
        case .path(let parsedAddress, let parsedParameters):
            address = parsedAddress
            parameters = parsedParameters
        }
        for parameter in parameters {
            switch parameter.keyword {
            case "SIZE":
                guard let size = SMTPCommandParser.parseSize(parameter.value) else {
                    protocolError("501 5.5.4 Bad SIZE parameter")
                    return
                }
                if size > policy.messageSizeLimit {
                    reply("552 5.3.4 Message size exceeds fixed maximum message size")
                    emit(.limitReached(.messageTooLarge(limit: policy.messageSizeLimit)))
                    return
                }
            case "BODY":
                let body = parameter.value?.uppercased()
                guard body == "7BIT" || body == "8BITMIME" else {
                    protocolError("501 5.5.4 Bad BODY parameter")
                    return
                }
            case "AUTH":
                // RFC 4954 section 5: accepted; this server does not relay the identity.
                continue
            default:
                protocolError("555 5.5.4 Unsupported option: \(parameter.keyword.prefix(64))")
                return
            }
        }
        // Domain security (DESIGN.md's table), at every MAIL FROM.
        let verdict = policy.domainSecurity.check(sender: address, tls: tls)
        var partnerDomain: String?
        switch verdict {
        case .notSecureDomain:
            break
        case .partner(let domain):
            partnerDomain = domain
            emit(.domainSecurity(verdict))
        case .refused(let line, _):
            reply(line)
            emit(.domainSecurity(verdict))
            return
        }
        transaction = Transaction(mailFrom: address, partnerDomain: partnerDomain)
        reply("250 2.1.0 Ok")
    }

    mutating func rcpt(_ argument: String) {
        guard let transaction else {
            protocolError("503 5.5.1 Error: need MAIL command")
            return
        }
        let address: String
        switch SMTPCommandParser.parsePath(argument, keyword: "TO:", allowNull: false, allowPostmaster: true) {
        case .syntaxError, .badAddress:
            protocolError("501 5.1.3 Bad recipient address syntax")
            return
        case .path(let parsedAddress, let parameters):
            if let unsupported = parameters.first {
                protocolError("555 5.5.4 Unsupported option: \(unsupported.keyword.prefix(64))")
                return
            }
            address = parsedAddress
        }
        if transaction.contains(address) {
            // Already verified and accepted; the envelope lists it once.
            reply("250 2.1.5 Ok")
            return
        }
        guard transaction.recipients.count < max(policy.maxRecipients, 1) else {
            reply("452 4.5.3 Error: too many recipients")
            emit(.limitReached(.tooManyRecipients(limit: max(policy.maxRecipients, 1))))
            return
        }
        mode = .awaiting(.recipient(address: address))
        emit(.verifyRecipient(address: address, authenticated: authenticatedUser != nil))
    }

    mutating func data(_ argument: String) {
        guard let transaction else {
            protocolError("503 5.5.1 Error: need MAIL command")
            return
        }
        guard !transaction.recipients.isEmpty else {
            protocolError("554 5.5.1 Error: no valid recipients")
            return
        }
        guard argument.isEmpty else {
            protocolError("501 5.5.4 Syntax: DATA")
            return
        }
        reply("354 End data with <CR><LF>.<CR><LF>")
        dataReader = SMTPDataReader(limit: policy.messageSizeLimit)
        mode = .data
    }
}
