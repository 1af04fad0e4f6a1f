import Foundation
internal import CShims

/// glibc's allocator keeps up to 7 freed blocks per size class in a per-thread cache
/// (tcache); beyond that a free goes to the arena's bins and later allocations take
/// the slow paths (fastbin consolidation, bin unlinking). A TLS connection makes
/// ~500 allocations of OpenSSL's and the Swift runtime's, interleaved: with 100
/// blocks per class, callgrind counts 13-20 K fewer instructions and ~360-700 fewer
/// L1 cache misses per connection (`Benchmarks/README.md`).
///
/// glibc reads its tunables from the environment at process start only, so
/// `serve` re-executes itself once (same PID, same arguments and descriptors) with
/// the setting added to `GLIBC_TUNABLES`. An administrator who sets
/// `glibc.malloc.tcache_count` there (7 is glibc's default) keeps that value, and
/// `MAILEDGE_MALLOC_TUNED` set to any value turns the re-execution off.
enum MallocTuning {
    static let variable = "GLIBC_TUNABLES"
    static let tunable = "glibc.malloc.tcache_count"
    static let setting = "\(tunable)=100"
    /// Set for the re-executed image: never a second exec, whatever glibc does to
    /// `GLIBC_TUNABLES` while it parses it (2.36 cuts the string after the first
    /// tunable's value in place).
    static let marker = "MAILEDGE_MALLOC_TUNED"

    /// Returns only if the process is not re-executed: the tunable is already set,
    /// the process runs under valgrind (which would not follow the exec), it was
    /// started through the dynamic loader (`/proc/self/exe` is then the loader),
    /// it runs in glibc's secure mode (setuid or file capabilities: glibc ignores
    /// the variable there), or the exec failed (then everything runs with glibc's
    /// defaults).
    static func applyByReexecuting() {
        #if os(Linux)
        let environment = ProcessInfo.processInfo.environment
        guard environment[marker] == nil else { return }
        let current = environment[variable] ?? ""
        guard !current.contains(tunable) else { return }
        guard !(environment["LD_PRELOAD"] ?? "").contains("vgpreload") else { return }
        guard cshim_at_secure() == 0 else { return }
        var path = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let length = readlink("/proc/self/exe", &path, Int(PATH_MAX))
        guard length > 0 else { return }
        path[length] = 0
        let name = String(decoding: path[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self).split(separator: "/").last ?? ""
        guard !name.hasPrefix("ld-") else { return }
        setenv(marker, "1", 1)
        setenv(variable, current.isEmpty ? setting : "\(current):\(setting)", 1)
        // The arguments exactly as the kernel gave them (argv is NULL-terminated).
        execv(path, CommandLine.unsafeArgv)
        // Still here: the exec failed. Serve with glibc's defaults.
        unsetenv(marker)
        if current.isEmpty { unsetenv(variable) } else { setenv(variable, current, 1) }
        #endif
    }
}
