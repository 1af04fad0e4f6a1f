import Foundation

/// IMAP's date forms, done by hand on the proleptic Gregorian calendar in UTC so the
/// output never depends on the host's locale or time zone:
/// INTERNALDATE `"29-Nov-2026 05:43:55 +0000"`, SEARCH dates `29-Nov-2026`, and the
/// RFC 5322 Date header for SENTSINCE/SENTBEFORE/SENTON.
enum IMAPDateFormat {
    static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// Days since 1970-01-01 for a civil date (Howard Hinnant's algorithm).
    static func dayNumber(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func civil(fromDay z: Int) -> (year: Int, month: Int, day: Int) {
        let z = z + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    static func seconds(of date: Date) -> Int {
        let value = date.timeIntervalSince1970
        guard value.isFinite else { return 0 }
        return Int(max(-1e13, min(value, 1e13)).rounded(.down))
    }

    /// The UTC day of a date, for SINCE/BEFORE/ON.
    static func day(of date: Date) -> Int {
        let s = seconds(of: date)
        return s >= 0 ? s / 86_400 : -((-s + 86_399) / 86_400)
    }

    /// `29-Nov-2026 05:43:55 +0000` (without quotes).
    static func internalDate(_ date: Date) -> String {
        let s = seconds(of: date)
        let day = Self.day(of: date)
        let rest = s - day * 86_400
        let (y, m, d) = civil(fromDay: day)
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        let year = String(repeating: "0", count: max(0, 4 - String(y).count)) + String(y)
        return "\(two(d))-\(months[m - 1])-\(year) \(two(rest / 3600)):\(two(rest / 60 % 60)):\(two(rest % 60)) +0000"
    }

    static func month(_ text: Substring) -> Int? {
        months.firstIndex { $0.caseInsensitiveCompare(text) == .orderedSame }.map { $0 + 1 }
    }

    /// `1-Feb-1994` -> day number.
    static func parseDate(_ text: String) -> Int? {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, let d = Int(parts[0].trimmingCharacters(in: .whitespaces)),
              let m = month(parts[1]), let y = Int(parts[2]), parts[2].count == 4,
              (1...31).contains(d) else { return nil }
        return dayNumber(year: y, month: m, day: d)
    }

    /// ` 1-Feb-1994 21:52:25 -0800` -> Date.
    static func parseDateTime(_ text: String) -> Date? {
        let fields = text.split(separator: " ", omittingEmptySubsequences: true)
        guard fields.count == 3, let day = parseDate(String(fields[0])),
              let time = parseTime(fields[1]), let zone = parseZone(fields[2]) else { return nil }
        return Date(timeIntervalSince1970: TimeInterval(day * 86_400 + time - zone))
    }

    private static func parseTime(_ text: Substring) -> Int? {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map { Int($0) }
        guard parts.count == 2 || parts.count == 3, let h = parts[0], let m = parts[1],
              (0...23).contains(h), (0...59).contains(m) else { return nil }
        let s = parts.count == 3 ? parts[2] : 0
        guard let s, (0...60).contains(s) else { return nil }
        return h * 3600 + m * 60 + s
    }

    /// `+0100` -> seconds east of UTC; obsolete zone names are UTC.
    private static func parseZone(_ text: Substring) -> Int? {
        let chars = Array(text)
        guard chars.count == 5, chars[0] == "+" || chars[0] == "-",
              let hours = Int(String(chars[1...2])), let minutes = Int(String(chars[3...4])) else {
            return text.allSatisfy(\.isLetter) ? 0 : nil
        }
        let offset = hours * 3600 + minutes * 60
        return chars[0] == "-" ? -offset : offset
    }

    /// The day (in the sender's zone, as RFC 3501 asks) of an RFC 5322 Date header:
    /// `[Tue, ]1 Feb 1994 21:52:25 -0800`.
    static func sentDay(_ header: String) -> Int? {
        var fields = header.split(whereSeparator: { $0 == " " || $0 == "\t" })
        if let first = fields.first, first.hasSuffix(",") { fields.removeFirst() }
        guard fields.count >= 3, let d = Int(fields[0]), let m = month(fields[1]),
              var y = Int(fields[2]), (1...31).contains(d) else { return nil }
        if y < 50 { y += 2000 } else if y < 1000 { y += 1900 }
        return dayNumber(year: y, month: m, day: d)
    }
}
