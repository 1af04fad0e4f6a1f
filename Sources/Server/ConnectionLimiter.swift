import Synchronization

/// Counts open connections per client address across all workers, so one host
/// cannot take every slot. Shared by the workers; every call is under one lock.
public final class ConnectionLimiter: Sendable {
    private let counts = Mutex<[String: Int]>([:])
    private let total = Atomic<Int>(0)
    public let maximumPerClient: Int

    public init(maximumPerClient: Int) { self.maximumPerClient = maximumPerClient }

    /// False when `client` already holds the maximum.
    public func acquire(_ client: String) -> Bool {
        // One hash of the address when it is already counted (the common case).
        let ok = counts.withLock { counts -> Bool in
            guard let index = counts.index(forKey: client) else {
                guard maximumPerClient > 0 else { return false }
                counts[client] = 1
                return true
            }
            guard counts.values[index] < maximumPerClient else { return false }
            counts.values[index] += 1
            return true
        }
        if ok { total.add(1, ordering: .relaxed) }
        return ok
    }

    public func release(_ client: String) {
        counts.withLock { counts in
            guard let index = counts.index(forKey: client) else { return }
            if counts.values[index] <= 1 { counts.remove(at: index) } else { counts.values[index] -= 1 }
        }
        total.subtract(1, ordering: .relaxed)
    }

    /// Open connections on all workers.
    public var openConnections: Int { total.load(ordering: .relaxed) }
}
