import Glibc

/// A reading of the server process from /proc: CPU time of all its threads and
/// resident memory. Taken before and after a measured run.
struct ServerSample: Sendable {
    /// utime and stime, in clock ticks (sysconf(_SC_CLK_TCK) per second).
    var userTicks: UInt64
    var systemTicks: UInt64
    var rssKiB: Int
    var cpuTicks: UInt64 { userTicks + systemTicks }
}

/// Reads the process under test through /proc (Linux only).
struct ServerProcess: Sendable {
    let pid: Int32
    static let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))

    init(pid: Int32) throws(BenchError) {
        self.pid = pid
        guard kill(pid, 0) == 0 || errno == EPERM else {
            throw BenchError("--server-pid \(pid): no such process")
        }
        _ = try sample()
    }

    func sample() throws(BenchError) -> ServerSample {
        let stat = try readFile("/proc/\(pid)/stat")
        // The command name is in parentheses and may hold spaces: fields start after the last ')'.
        guard let close = stat.lastIndex(of: ")") else { throw BenchError("cannot parse /proc/\(pid)/stat") }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // After the name: state is field 3 (index 0 here); utime 14 and stime 15 are indexes 11 and 12.
        guard fields.count > 12, let utime = UInt64(fields[11]), let stime = UInt64(fields[12]) else {
            throw BenchError("cannot parse utime/stime in /proc/\(pid)/stat")
        }
        let status = try readFile("/proc/\(pid)/status")
        var rss = 0
        for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            rss = Int(line.dropFirst(6).split(whereSeparator: { $0 == " " || $0 == "\t" }).first ?? "") ?? 0
        }
        return ServerSample(userTicks: utime, systemTicks: stime, rssKiB: rss)
    }

    func rssKiB() -> Int? { try? sample().rssKiB }

    /// Waits until RSS changes by less than 64 KiB over 500 ms, at most `limitSeconds`.
    func waitForStableRSS(limitSeconds: Double = 5) -> Int? {
        let end = monotonicNanos() &+ UInt64(limitSeconds * 1e9)
        guard var previous = rssKiB() else { return nil }
        while monotonicNanos() < end {
            usleep(500_000)
            guard let current = rssKiB() else { return nil }
            if abs(current - previous) < 64 { return current }
            previous = current
        }
        return previous
    }

    private func readFile(_ path: String) throws(BenchError) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw BenchError("cannot read \(path): \(errnoText(errno))") }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            bytes += chunk[0..<n]
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// CPU time this benchmark process has used, in microseconds (all threads).
func clientCPUMicros() -> Double {
    var usage = rusage()
    getrusage(Int32(RUSAGE_SELF.rawValue), &usage)
    let user = Double(usage.ru_utime.tv_sec) * 1e6 + Double(usage.ru_utime.tv_usec)
    let system = Double(usage.ru_stime.tv_sec) * 1e6 + Double(usage.ru_stime.tv_usec)
    return user + system
}
