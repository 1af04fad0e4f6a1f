import Foundation

/// AUTH (RFC 4954) for `SMTPSession`: PLAIN and LOGIN, with or without an initial
/// response. Decoded credentials go straight into `SMTPAction.authenticate` and are
/// neither stored nor echoed.
extension SMTPSession {
    mutating func auth(_ argument: String) {
        guard heloName != nil else {
            protocolError("503 5.5.1 Error: send HELO/EHLO first")
            return
        }
        guard policy.role == .submission else {
            protocolError("503 5.5.1 Error: authentication not enabled")
            return
        }
        guard tls != nil || (policy.allowPlaintextAuth && !policy.requireTLS) else {
            protocolError("530 5.7.0 Must issue a STARTTLS command first")
            return
        }
        guard authenticatedUser == nil else {
            protocolError("503 5.5.1 Error: already authenticated")
            return
        }
        guard transaction == nil else {
            protocolError("503 5.5.1 Error: MAIL transaction in progress")
            return
        }
        let words = argument.split(separator: " ", omittingEmptySubsequences: true)
        guard let mechanismWord = words.first, words.count <= 2 else {
            protocolError("501 5.5.4 Syntax: AUTH mechanism [initial-response]")
            return
        }
        let initialResponse = words.count == 2 ? Array(words[1].utf8) : nil
        switch SMTPSASL.Mechanism(rawValue: mechanismWord.uppercased()) {
        case .plain:
            if let initialResponse {
                completePlain(SMTPSASL.decodeResponse(initialResponse))
            } else {
                reply("334 ")
                mode = .saslPlain
            }
        case .login:
            if let initialResponse {
                acceptLoginUsername(SMTPSASL.decodeResponse(initialResponse))
            } else {
                reply("334 \(SMTPSASL.loginUsernamePrompt)")
                mode = .saslLoginUsername
            }
        case nil:
            protocolError("504 5.5.4 Unrecognized authentication type")
        }
    }

    /// A line sent in answer to a `334` challenge.
    mutating func handleSASLResponse(_ line: [UInt8]) {
        let step = mode
        mode = .command
        if line == [0x2A] {  // "*"
            protocolError("501 5.7.0 Authentication aborted")
            return
        }
        let decoded = SMTPSASL.decodeResponse(line)
        switch step {
        case .saslPlain:
            completePlain(decoded)
        case .saslLoginUsername:
            acceptLoginUsername(decoded)
        case .saslLoginPassword(let username):
            guard let decoded, let password = SMTPSASL.loginField(decoded) else {
                protocolError("501 5.5.2 Cannot decode response")
                return
            }
            requestAuthentication(username: username, password: password)
        default:
            break
        }
    }

    private mutating func completePlain(_ decoded: [UInt8]?) {
        guard let decoded else {
            protocolError("501 5.5.2 Cannot decode response")
            return
        }
        switch SMTPSASL.parsePlain(decoded) {
        case .success(let credentials):
            requestAuthentication(username: credentials.username, password: credentials.password)
        case .failure(.malformed):
            protocolError("501 5.5.2 Cannot decode response")
        case .failure(.authzidMismatch):
            protocolError("535 5.7.8 Authentication credentials invalid")
        }
    }

    private mutating func acceptLoginUsername(_ decoded: [UInt8]?) {
        guard let decoded, let username = SMTPSASL.loginField(decoded), !username.isEmpty else {
            protocolError("501 5.5.2 Cannot decode response")
            return
        }
        reply("334 \(SMTPSASL.loginPasswordPrompt)")
        mode = .saslLoginPassword(username: username)
    }

    private mutating func requestAuthentication(username: String, password: String) {
        mode = .awaiting(.authentication(username: username))
        emit(.authenticate(username: username, password: password))
    }
}
