/// The figures of one benchmark run, rendered as one JSON object or a table.
struct BenchReport {
    var host: String
    var port: Int
    var mode: String
    var tls: String
    var cipher: String?
    var group: String?
    var serverKey: String?
    var resume: Bool
    var concurrency: Int
    var threads: Int
    var count: Int
    var resumed: Int
    var failures: Int
    var seconds: Double
    var latencyP50: Double?
    var latencyP99: Double?
    var greetingP50: Double?
    var greetingP99: Double?
    var serverCPUMicrosPerHandshake: Double?
    /// The same split into user and system (kernel) time.
    var serverUserMicrosPerHandshake: Double?
    var serverSystemMicrosPerHandshake: Double?
    var clientCPUMicrosPerHandshake: Double?
    var serverRSSBefore: Int?
    var serverRSSAfter: Int?
    var held: Int?
    var heldClosedByServer: Int?
    var idleKiBPerConnection: Double?
    var aborted: Bool

    var handshakesPerSecond: Double { seconds > 0 ? Double(count) / seconds : 0 }
    var notResumed: Int { resume ? count - resumed : 0 }

    /// Exit status: at least one handshake and failures at most 1% of attempts.
    var passed: Bool { count > 0 && failures * 100 <= count + failures }

    /// Nearest-rank percentile of ascending samples.
    static func percentile(_ sorted: [Double], _ p: Double) -> Double? {
        guard !sorted.isEmpty else { return nil }
        let rank = Int((p * Double(sorted.count)).rounded(.up))
        return sorted[min(max(rank, 1), sorted.count) - 1]
    }

    func json() -> String {
        var fields: [(String, String)] = [
            ("mode", quoted(mode)),
            ("tls", quoted(tls)),
            ("cipher", cipher.map(quoted) ?? "null"),
            ("group", group.map(quoted) ?? "null"),
            ("server_key", serverKey.map(quoted) ?? "null"),
            ("resume", resume ? "true" : "false"),
            ("count", "\(count)"),
            ("resumed", "\(resumed)"),
            ("not_resumed", "\(notResumed)"),
            ("failures", "\(failures)"),
            ("seconds", number(seconds, 3)),
            ("handshakes_per_second", number(handshakesPerSecond, 1)),
            ("latency_p50_ms", number(latencyP50, 3)),
            ("latency_p99_ms", number(latencyP99, 3)),
            ("greeting_p50_ms", number(greetingP50, 3)),
            ("greeting_p99_ms", number(greetingP99, 3)),
            ("server_cpu_us_per_handshake", number(serverCPUMicrosPerHandshake, 1)),
            ("server_user_us_per_handshake", number(serverUserMicrosPerHandshake, 1)),
            ("server_sys_us_per_handshake", number(serverSystemMicrosPerHandshake, 1)),
            ("client_cpu_us_per_handshake", number(clientCPUMicrosPerHandshake, 1)),
            ("server_rss_before_kib", serverRSSBefore.map { "\($0)" } ?? "null"),
            ("server_rss_after_kib", serverRSSAfter.map { "\($0)" } ?? "null"),
            ("idle_kib_per_connection", number(idleKiBPerConnection, 2)),
        ]
        if let held { fields.append(("held", "\(held)")) }
        if let heldClosedByServer { fields.append(("held_closed_by_server", "\(heldClosedByServer)")) }
        fields += [
            ("concurrency", "\(concurrency)"),
            ("threads", "\(threads)"),
            ("host", quoted(host)),
            ("port", "\(port)"),
            ("aborted", aborted ? "true" : "false"),
        ]
        return "{" + fields.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}"
    }

    func table() -> String {
        var rows: [(String, String)] = [
            ("target", "\(host):\(port)  mode \(mode)  TLS \(tls)  concurrency \(concurrency)  threads \(threads)"),
            ("negotiated", "\(cipher ?? "-")  group \(group ?? "-")  server key \(serverKey ?? "-")"),
            ("handshakes", "\(count) in \(number(seconds, 3)) s  (\(failures) failures\(aborted ? ", aborted" : ""))"),
            ("handshakes/s", number(handshakesPerSecond, 1)),
            ("latency p50 / p99", "\(figure(latencyP50, 3)) / \(figure(latencyP99, 3)) ms  (connect to end of handshake)"),
        ]
        if greetingP50 != nil {
            rows.append(("greeting p50 / p99", "\(figure(greetingP50, 3)) / \(figure(greetingP99, 3)) ms  (end of handshake to first line)"))
        }
        if resume { rows.append(("resumed", "\(resumed) resumed, \(notResumed) not resumed")) }
        rows.append(("server CPU/handshake", serverCPUMicrosPerHandshake.map { total in
            "\(number(total, 1)) µs  (user \(figure(serverUserMicrosPerHandshake, 1)), system \(figure(serverSystemMicrosPerHandshake, 1)))"
        } ?? "- (no --server-pid)"))
        rows.append(("client CPU/handshake", clientCPUMicrosPerHandshake.map { "\(number($0, 1)) µs" } ?? "-"))
        if serverRSSBefore != nil || serverRSSAfter != nil {
            rows.append(("server RSS", "\(serverRSSBefore.map(String.init) ?? "-") KiB before, \(serverRSSAfter.map(String.init) ?? "-") KiB after"))
        }
        if let held {
            rows.append(("held idle", "\(held) connections, \(heldClosedByServer ?? 0) closed by the server meanwhile"))
            rows.append(("idle KiB/connection", figure(idleKiBPerConnection, 2)))
        }
        let width = rows.map(\.0.count).max() ?? 0
        return rows.map { $0.0 + String(repeating: " ", count: width - $0.0.count) + "  " + $0.1 }
            .joined(separator: "\n")
    }

    private func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    private func figure(_ value: Double?, _ decimals: Int) -> String {
        value == nil ? "-" : number(value, decimals)
    }

    /// Fixed decimals without Foundation; non-finite or missing values are null.
    private func number(_ value: Double?, _ decimals: Int) -> String {
        guard let value, value.isFinite else { return "null" }
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let scaled = (abs(value) * scale).rounded()
        let whole = Int(scaled / scale)
        var text = (value < 0 && scaled > 0 ? "-" : "") + "\(whole)"
        if decimals > 0 {
            let fraction = Int(scaled - Double(whole) * scale)
            let digits = "\(fraction)"
            text += "." + String(repeating: "0", count: decimals - digits.count) + digits
        }
        return text
    }
}
