import Dispatch
import Glibc

/// One load thread: builds its own LoadLoop (TLS context, epoll, connections) on
/// its own thread, runs the warm-up, waits for the main thread's go signal, then
/// runs its share of the measured handshakes.
///
/// `@unchecked Sendable` is safe because every mutable field has one writer at a
/// time with a happens-before edge to its reader: `deadline` and `cancelled` are
/// written by the main thread before `go.signal()` and read after `go.wait()`;
/// the results are written by the load thread before it exits and read by the main
/// thread only after `pthread_join` (or, for the warm-up, after `warmed.wait()`).
final class LoadThread: @unchecked Sendable {
    let config: BenchConfig
    let warmupTarget: Int
    let target: Int
    let warmupDeadline: UInt64
    let warmed = DispatchSemaphore(value: 0)
    let go = DispatchSemaphore(value: 0)

    var deadline: UInt64 = 0
    var cancelled = false

    private(set) var setupError: BenchError?
    private(set) var warmupStats = PhaseStats()
    private(set) var stats = PhaseStats()
    private(set) var facts: HandshakeFacts?
    private var thread: pthread_t = 0

    init(config: BenchConfig, warmupTarget: Int, target: Int, warmupDeadline: UInt64) {
        self.config = config
        self.warmupTarget = warmupTarget
        self.target = target
        self.warmupDeadline = warmupDeadline
    }

    /// Starts the thread; the main thread keeps `self` alive until `join()`.
    func start() throws(BenchError) {
        let context = Unmanaged.passUnretained(self).toOpaque()
        let rc = pthread_create(&thread, nil, loadThreadEntry, context)
        guard rc == 0 else { throw BenchError("pthread_create: \(errnoText(rc))") }
    }

    func join() {
        _ = pthread_join(thread, nil)
    }

    fileprivate func body() {
        let loop: LoadLoop
        do {
            loop = try LoadLoop(config: config)
        } catch {
            setupError = error
            warmed.signal()
            return
        }
        if warmupTarget > 0 {
            warmupStats = loop.run(target: warmupTarget, deadline: warmupDeadline)
        }
        warmed.signal()
        go.wait()
        if cancelled { return }
        stats = loop.run(target: target, deadline: deadline)
        facts = loop.firstFacts
    }
}

/// pthread entry: the context is an unretained LoadThread that the main thread
/// keeps alive until pthread_join returns.
private func loadThreadEntry(_ context: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
    Unmanaged<LoadThread>.fromOpaque(context!).takeUnretainedValue().body()
    return nil
}
