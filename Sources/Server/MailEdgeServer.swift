import Foundation
internal import COpenSSL
import Logging
import Reactor
import Synchronization

/// Starts the worker threads, and stops them on request. The control plane: its
/// methods are called from the main thread only.
public final class MailEdgeServer: Sendable {
    public let runtime: ServerRuntime
    private let workers = Mutex<[WorkerHandle]>([])

    public init(runtime: ServerRuntime) { self.runtime = runtime }

    /// Spawns the workers; returns once every listener is bound, or throws the
    /// first bind error (no half-started server).
    public func start() throws {
        let count = runtime.config.server.workers > 0
            ? runtime.config.server.workers
            : ProcessInfo.processInfo.activeProcessorCount
        var handles: [WorkerHandle] = []
        for index in 0..<count {
            let handle = WorkerHandle(index: index)
            let runtime = self.runtime
            let thread = Thread {
                do {
                    let worker = try Worker(index: index, runtime: runtime)
                    handle.ready(.success(worker.mailbox))
                    worker.run()
                } catch {
                    handle.ready(.failure(StartupError(message: "\(error)")))
                }
                // Free this thread's OpenSSL state now, on this thread: left to the
                // thread-exit destructor it can race the main thread's exit-time
                // OPENSSL_cleanup once `finished` lets the process end (a rare
                // SIGSEGV after SIGTERM).
                OPENSSL_thread_stop()
                handle.finished.signal()
            }
            thread.name = "mailedge-worker-\(index)"
            thread.start()
            handle.started.wait()
            handles.append(handle)
            if case .failure(let error) = handle.result {
                stop(handles)
                throw error
            }
        }
        workers.withLock { $0 = handles }
        for connector in runtime.connectors {
            runtime.logger.notice("listening", metadata: [
                "connector": "\(connector.name)", "protocol": "\(connector.config.protocol.rawValue)",
                "bind": "\(connector.config.bind.map(\.description).joined(separator: ","))",
                "tls": "\(connector.config.tls.rawValue)", "workers": "\(count)",
            ])
        }
    }

    /// SIGTERM: stop accepting, give sessions `drainTimeout` to end, say 421 to
    /// the rest, then stop the loops.
    public func shutdown() {
        let handles = workers.withLock { $0 }
        let limits = runtime.config.limits
        runtime.logger.notice("shutting down: no new connections", metadata: ["open": "\(runtime.limiter.openConnections)"])
        for handle in handles { handle.post(.stopAccepting) }
        let deadline = Date().addingTimeInterval(limits.drainTimeout)
        while runtime.limiter.openConnections > 0 && Date() < deadline { usleep(50_000) }
        if runtime.limiter.openConnections > 0 {
            runtime.logger.notice("closing remaining sessions", metadata: ["open": "\(runtime.limiter.openConnections)"])
            for handle in handles { handle.post(.closeSessions) }
            let hardDeadline = Date().addingTimeInterval(3)
            while runtime.limiter.openConnections > 0 && Date() < hardDeadline { usleep(20_000) }
        }
        stop(handles)
        runtime.logger.notice("stopped")
    }

    private func stop(_ handles: [WorkerHandle]) {
        for handle in handles { handle.post(.stop) }
        for handle in handles where handle.mailbox != nil { handle.finished.wait() }
    }
}

/// The main thread's view of one worker: its mailbox and start/finish signals.
final class WorkerHandle: @unchecked Sendable {
    // Written once by the worker thread before `started` is signalled, read after.
    let index: Int
    let started = DispatchSemaphore(value: 0)
    let finished = DispatchSemaphore(value: 0)
    private(set) var result: Result<Void, StartupError> = .success(())
    private(set) var mailbox: Reactor.Mailbox<Worker.Message>?

    init(index: Int) { self.index = index }

    func ready(_ outcome: Result<Reactor.Mailbox<Worker.Message>, StartupError>) {
        switch outcome {
        case .success(let mailbox): self.mailbox = mailbox
        case .failure(let error): result = .failure(error)
        }
        started.signal()
    }

    func post(_ message: Worker.Message) { mailbox?.post(message) }
}
