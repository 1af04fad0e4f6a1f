import Foundation
import XCTest
@testable import MailProtocols

/// The fixed clock of all SMTP transcripts: Sun, 29 Nov 2026 05:43:55 +0000.
let smtpTestDate = Date(timeIntervalSince1970: 1_795_931_035)
let smtpTestTLS = TLSFacts(version: "TLSv1.2", cipher: "ECDHE-RSA-AES256-GCM-SHA384")
let smtpTestFQDN = "mx.contoso.com"
let smtpTestClient = "192.0.2.10"

/// "\0alice\0s3cret" and friends, base64.
enum SMTPTestCredentials {
    static let plain = "AGFsaWNlAHMzY3JldA=="           // "" / alice / s3cret
    static let plainWithAuthzid = "YWxpY2UAYWxpY2UAczNjcmV0"  // alice / alice / s3cret
    static let plainOtherAuthzid = "Ym9iAGFsaWNlAHMzY3JldA=="  // bob / alice / s3cret
    static let alice = "YWxpY2U="
    static let secret = "czNjcmV0"
}

/// What one step of a transcript produced: the reply text of all `.send` actions
/// concatenated, and every other action in order.
struct SMTPStep {
    var actions: [SMTPAction]

    var text: String {
        actions.reduce(into: "") { text, action in
            if case .send(let part) = action { text += part }
        }
    }

    /// Actions other than replies and limit notices.
    var others: [SMTPAction] {
        actions.filter {
            switch $0 {
            case .send, .limitReached: return false
            default: return true
            }
        }
    }

    /// Limits the step reported.
    var limits: [SMTPLimit] {
        actions.compactMap { if case .limitReached(let limit) = $0 { return limit } else { return nil } }
    }

    /// Reply lines without CRLF.
    var lines: [String] {
        text.components(separatedBy: "\r\n").filter { !$0.isEmpty }
    }

    /// Reply codes of the final lines of each reply ("250" for "250 2.1.0 Ok").
    var codes: [String] {
        lines.filter { $0.count >= 4 && Array($0)[3] == " " }.map { String($0.prefix(3)) }
    }

    var delivered: SMTPEnvelope? {
        for case .deliver(let envelope) in actions { return envelope }
        return nil
    }
}

/// Drives one `SMTPSession` with strings, the way the tests read a conversation.
final class SMTPTranscript {
    var session: SMTPSession

    init(role: SMTPRole = .inbound, tlsMode: SMTPTLSMode = .starttls, tls: TLSFacts? = nil,
         configure: (inout SMTPPolicy) -> Void = { _ in }) {
        var policy = SMTPPolicy(fqdn: smtpTestFQDN, role: role, tlsMode: tlsMode)
        configure(&policy)
        session = SMTPSession(policy: policy, clientAddress: smtpTestClient, tls: tls,
                              clock: { smtpTestDate })
    }

    @discardableResult
    func start() -> SMTPStep { SMTPStep(actions: session.start()) }

    @discardableResult
    func send(_ text: String) -> SMTPStep { SMTPStep(actions: session.receive(Array(text.utf8))) }

    @discardableResult
    func sendBytes(_ bytes: [UInt8]) -> SMTPStep { SMTPStep(actions: session.receive(bytes)) }

    @discardableResult
    func tlsUp(_ facts: TLSFacts = smtpTestTLS) -> SMTPStep { SMTPStep(actions: session.tlsEstablished(facts)) }

    @discardableResult
    func auth(_ success: Bool) -> SMTPStep {
        SMTPStep(actions: session.authenticationCompleted(success: success))
    }

    @discardableResult
    func verdict(_ verdict: RecipientVerdict) -> SMTPStep {
        SMTPStep(actions: session.recipientVerified(verdict))
    }

    @discardableResult
    func delivery(_ result: DeliveryResult) -> SMTPStep {
        SMTPStep(actions: session.deliveryCompleted(result))
    }

    /// Greeting plus EHLO.
    @discardableResult
    func greeted(_ name: String = "client.example.org") -> SMTPTranscript {
        start()
        send("EHLO \(name)\r\n")
        return self
    }

    /// STARTTLS, handshake, fresh EHLO.
    @discardableResult
    func upgraded(_ name: String = "client.example.org") -> SMTPTranscript {
        start()
        send("EHLO \(name)\r\nSTARTTLS\r\n")
        tlsUp()
        send("EHLO \(name)\r\n")
        return self
    }

    /// Upgraded (on a STARTTLS connector) and authenticated as alice.
    @discardableResult
    func loggedIn() -> SMTPTranscript {
        upgraded()
        send("AUTH PLAIN \(SMTPTestCredentials.plain)\r\n")
        auth(true)
        return self
    }

    /// MAIL and one verified local RCPT.
    @discardableResult
    func inTransaction(from: String = "sender@example.org", to: String = "alice@contoso.com") -> SMTPTranscript {
        send("MAIL FROM:<\(from)>\r\n")
        send("RCPT TO:<\(to)>\r\n")
        verdict(.local)
        return self
    }
}

extension String {
    var bytes: [UInt8] { Array(utf8) }
}

/// The part of a delivered message after the Received header, as bytes.
func smtpBodyBytes(of envelope: SMTPEnvelope) -> [UInt8] {
    let marker = Array("+0000\r\n".utf8)
    let message = envelope.message
    guard message.count >= marker.count else { return message }
    for start in 0...(message.count - marker.count)
    where Array(message[start..<(start + marker.count)]) == marker {
        return Array(message[(start + marker.count)...])
    }
    return message
}

/// The Received header of a delivered message.
func smtpReceived(of envelope: SMTPEnvelope) -> String {
    let bodyCount = smtpBodyBytes(of: envelope).count
    return String(decoding: envelope.message.dropLast(bodyCount), as: UTF8.self)
}

func smtpBody(of envelope: SMTPEnvelope) -> String {
    String(decoding: smtpBodyBytes(of: envelope), as: UTF8.self)
}
