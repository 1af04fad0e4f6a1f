import Foundation
internal import CLibevent
internal import CShims

/// libevent must know about pthreads before the first `event_base` exists; a
/// global `let` initialiser runs exactly once.
private let threadingEnabled: Bool = evthread_use_pthreads() == 0

/// One libevent `event_base`, created on and owned by one worker thread. Not
/// Sendable: everything here runs on that thread, except `LoopWaker.wake()`.
public final class EventLoop {
    let base: OpaquePointer
    private var wakers: [LoopWaker] = []
    /// Every channel of this loop reads into this one buffer (a 16 KiB allocation
    /// per read cost ~2 K instructions); readers copy out what they got before
    /// calling anyone, so a nested read cannot overwrite bytes still in use.
    let readBuffer = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: Channel.readSize)

    public init() throws {
        precondition(threadingEnabled, "evthread_use_pthreads failed")
        guard let base = event_base_new() else { throw ReactorError(message: "event_base_new failed") }
        self.base = base
    }

    deinit {
        for waker in wakers { waker.free() }
        event_base_free(base)
        readBuffer.deallocate()
    }

    /// Runs until a waker's handler calls `breakLoop()`.
    public func run() {
        event_base_loop(base, EVLOOP_NO_EXIT_ON_EMPTY)
    }

    /// Ends `run()` after the current callbacks; call on the loop thread (from a
    /// waker handler when the request comes from another thread).
    public func breakLoop() { event_base_loopbreak(base) }

    /// A Sendable handle any thread may use to run `handler` on this loop.
    /// (`event_base_loopbreak` from another thread can be lost; `event_active` cannot.)
    public func makeWaker(_ handler: @escaping () -> Void) -> LoopWaker {
        let waker = LoopWaker(base: base, handler: handler)
        wakers.append(waker)
        return waker
    }

    /// Runs `handler` once after `seconds` (0 = next loop turn).
    public func schedule(after seconds: Double, _ handler: @escaping () -> Void) -> LoopTimer {
        let timer = LoopTimer(base: base, handler: handler)
        timer.arm(seconds)
        return timer
    }

    /// A timer that waits until armed.
    public func makeTimer(_ handler: @escaping () -> Void) -> LoopTimer {
        LoopTimer(base: base, handler: handler)
    }

    package func withUnsafeEventBasePointer<R>(_ body: (OpaquePointer) throws -> R) rethrows -> R { try body(base) }
}

/// Holds a Swift closure for a C callback.
final class CallbackBox {
    let handler: () -> Void
    init(_ handler: @escaping () -> Void) { self.handler = handler }
}

/// Wakes a loop from any thread. `event_active` is thread-safe once
/// `evthread_use_pthreads` ran; the handler itself runs on the loop thread.
public final class LoopWaker: @unchecked Sendable {
    private var event: OpaquePointer?
    private let box: CallbackBox

    init(base: OpaquePointer, handler: @escaping () -> Void) {
        box = CallbackBox(handler)
        // Retain policy: passUnretained; the EventLoop keeps this waker alive and
        // frees the event before the waker goes away.
        event = event_new(base, -1, 0, wakerCallback, Unmanaged.passUnretained(box).toOpaque())
    }

    public func wake() {
        if let event { event_active(event, Int32(EV_READ), 0) }
    }

    func free() {
        if let event { event_free(event) }
        event = nil
    }
}

private func wakerCallback(_ fd: Int32, _ what: Int16, _ arg: UnsafeMutableRawPointer?) {
    guard let arg else { return }
    Unmanaged<CallbackBox>.fromOpaque(arg).takeUnretainedValue().handler()
}

/// A one-shot timer on a loop; re-armable. Owned by whoever must cancel it.
///
/// Re-arming is lazy, for timers re-armed far more often than they fire (a worker's
/// timeout sweep, an IMAP IDLE poll): a new deadline no earlier than the one
/// libevent already holds is only recorded (no `event_add`, no timer-heap work);
/// when libevent's timer fires before the recorded deadline, it is set again for
/// the rest. Only an earlier deadline goes to libevent at once.
public final class LoopTimer {
    private var event: OpaquePointer?
    private let handler: () -> Void
    /// When the handler is due (monotonic seconds); nil when not armed.
    private var deadline: Double?
    /// When libevent's timer, if pending, fires (monotonic seconds).
    private var scheduled: Double?

    init(base: OpaquePointer, handler: @escaping () -> Void) {
        self.handler = handler
        // Retain policy: passUnretained; the event is freed in deinit, so it never
        // fires for a timer that is gone (no separate box: one allocation less per
        // connection).
        event = cshim_evtimer_new(base, timerCallback, Unmanaged.passUnretained(self).toOpaque())
    }

    deinit { if let event { event_free(event) } }

    /// Fires `seconds` from now, replacing any earlier arming.
    public func arm(_ seconds: Double) {
        let now = Self.now()
        let due = now + max(seconds, 0)
        deadline = due
        if let scheduled, scheduled <= due { return }
        schedule(after: seconds, at: due)
    }

    public func cancel() {
        deadline = nil
        if scheduled != nil, let event { event_del(event) }
        scheduled = nil
    }

    /// Whether the handler is due at some point (armed and not yet fired or cancelled).
    public var isArmed: Bool { deadline != nil }

    private func schedule(after seconds: Double, at due: Double) {
        guard let event else { return }
        let seconds = max(seconds, 0)
        var tv = timeval(tv_sec: Int(seconds), tv_usec: Int((seconds - Double(Int(seconds))) * 1_000_000))
        event_add(event, &tv)
        scheduled = due
    }

    fileprivate func fire() {
        scheduled = nil
        guard let due = deadline else { return }
        // libevent's clock and this one read the same monotonic time at different
        // moments; a millisecond early counts as due.
        let left = due - Self.now()
        if left > 0.001 {
            schedule(after: left, at: due)
            return
        }
        deadline = nil
        handler()
    }

    /// Monotonic seconds (vDSO, no system call).
    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1_000_000_000
    }
}

private func timerCallback(_ fd: Int32, _ what: Int16, _ arg: UnsafeMutableRawPointer?) {
    guard let arg else { return }
    // A strong reference for the call: the handler may drop its owner's.
    let timer = Unmanaged<LoopTimer>.fromOpaque(arg).takeUnretainedValue()
    timer.fire()
}

public struct ReactorError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(message: String) { self.message = message }
    public var description: String { message }
}
