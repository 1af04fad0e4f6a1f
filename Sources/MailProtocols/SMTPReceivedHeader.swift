import Foundation

/// Builds the trace header (RFC 5321 section 4.4) that `SMTPSession` puts in front of
/// each accepted message. The protocol keyword follows RFC 3848; TLS version and cipher
/// are recorded, the authenticated user name deliberately is not (privacy), only the
/// fact of authentication through the "A" in the keyword.
struct SMTPReceivedHeader {
    var heloName: String
    var clientAddress: String
    var serverName: String
    var extended: Bool
    var tls: TLSFacts?
    var authenticated: Bool
    var id: String?
    var recipients: [String]
    var date: Date

    /// SMTP, ESMTP, ESMTPS, ESMTPA or ESMTPSA.
    var protocolKeyword: String {
        guard extended else { return "SMTP" }
        return "ESMTP" + (tls != nil ? "S" : "") + (authenticated ? "A" : "")
    }

    /// The folded header, each line ending in CRLF.
    var text: String {
        var header = "Received: from \(heloName) ([\(clientAddress)])\r\n"
        header += "\tby \(serverName) (MailEdge) with \(protocolKeyword)"
        if let tls {
            header += " (version=\(tls.version) cipher=\(tls.cipher))"
            if let client = tls.clientCertificate {
                // RFC 5322 comments: parentheses and backslashes in DNs are escaped.
                header += "\r\n\t(client certificate subject=\"\(Self.escape(client.subject))\" issuer=\"\(Self.escape(client.issuer))\" verify=\(client.isVerified ? "OK" : "FAIL"))"
            }
        }
        var clauses: [String] = []
        if let id { clauses.append("id \(id)") }
        if recipients.count == 1, let only = recipients.first { clauses.append("for <\(only)>") }
        let date = Self.rfc5322Date(date)
        if clauses.isEmpty {
            header += ";\r\n\t\(date)\r\n"
        } else {
            header += "\r\n\t" + clauses.joined(separator: "\r\n\t") + "; \(date)\r\n"
        }
        return header
    }

    var bytes: [UInt8] { Array(text.utf8) }

    static func escape(_ text: String) -> String {
        String(text.unicodeScalars.prefix(256).map { scalar -> String in
            switch scalar {
            case "\\", "\"", "(", ")": return "\\" + String(scalar)
            case _ where scalar.value < 0x20 || scalar.value > 0x7E: return "?"
            default: return String(scalar)
            }
        }.joined())
    }

    private static let weekdays = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// `Sun, 29 Nov 2026 05:43:55 +0000`, always in UTC so no locale or time-zone
    /// database is involved.
    static func rfc5322Date(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(secondsFromGMT: 0) ?? calendar.timeZone
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second, .weekday],
                                            from: date)
        let weekday = weekdays[((parts.weekday ?? 1) - 1 + 7) % 7]
        let month = months[((parts.month ?? 1) - 1 + 12) % 12]
        return "\(weekday), \(parts.day ?? 1) \(month) \(parts.year ?? 1970) "
            + "\(pad(parts.hour)):\(pad(parts.minute)):\(pad(parts.second)) +0000"
    }

    private static func pad(_ value: Int?) -> String {
        let number = value ?? 0
        return number < 10 ? "0\(number)" : "\(number)"
    }
}
