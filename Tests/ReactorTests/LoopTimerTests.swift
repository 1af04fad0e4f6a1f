import Foundation
import XCTest
@testable import Reactor

/// LoopTimer's lazy re-arming on a real libevent loop: a later deadline is only
/// recorded, yet the handler never runs before the deadline it was last given, runs
/// once, and an earlier deadline or a cancel takes effect at once. Lower bounds are
/// exact (the handler must not run early); upper bounds only guard against a hang.
final class LoopTimerTests: XCTestCase {
    func testALaterDeadlineReplacesTheEarlierOne_TheHandlerRunsOnceAtTheLaterOne() throws {
        let loop = try EventLoop()
        let start = LoopTimer.now()
        var fired: [Double] = []
        let timer = loop.makeTimer { fired.append(LoopTimer.now() - start) }
        timer.arm(0.05)
        timer.arm(0.3)   // later: recorded only, libevent still holds 0.05
        XCTAssertTrue(timer.isArmed)
        let stop = loop.schedule(after: 0.6) { loop.breakLoop() }
        run(loop, limit: 10)
        _ = stop
        XCTAssertEqual(fired.count, 1, "fired at \(fired)")
        XCTAssertGreaterThanOrEqual(fired.first ?? 0, 0.299, "ran before its deadline")
        XCTAssertFalse(timer.isArmed)
    }

    func testAnEarlierDeadlineTakesEffectAtOnce() throws {
        let loop = try EventLoop()
        let start = LoopTimer.now()
        var firedAfter: Double?
        let timer = loop.makeTimer { firedAfter = LoopTimer.now() - start; loop.breakLoop() }
        timer.arm(30)
        timer.arm(0.05)
        run(loop, limit: 10)
        let after = try XCTUnwrap(firedAfter)
        XCTAssertGreaterThanOrEqual(after, 0.049)
        XCTAssertLessThan(after, 5, "the 30 s arming was still in force")
    }

    func testReArmingOnEveryEventKeepsPushingTheDeadlineOut() throws {
        // The idle timeout of a connection that keeps sending: re-armed at 0.1 s and
        // 0.2 s for 0.25 s each, it may fire only 0.25 s after the last re-arm.
        let loop = try EventLoop()
        let start = LoopTimer.now()
        var fired: [Double] = []
        let idle = loop.makeTimer { fired.append(LoopTimer.now() - start); loop.breakLoop() }
        idle.arm(0.25)
        let first = loop.schedule(after: 0.1) { idle.arm(0.25) }
        let second = loop.schedule(after: 0.2) { idle.arm(0.25) }
        run(loop, limit: 10)
        _ = (first, second)
        XCTAssertEqual(fired.count, 1)
        XCTAssertGreaterThanOrEqual(fired.first ?? 0, 0.449, "fired before 0.25 s after the last re-arm")
    }

    func testCancelStopsAPendingAndALazilyRecordedDeadline() throws {
        let loop = try EventLoop()
        var fired = 0
        let pending = loop.makeTimer { fired += 1 }
        pending.arm(0.05)
        pending.cancel()
        let lazy = loop.makeTimer { fired += 1 }
        lazy.arm(0.05)
        lazy.arm(0.1)   // recorded only
        lazy.cancel()
        XCTAssertFalse(lazy.isArmed)
        let stop = loop.schedule(after: 0.3) { loop.breakLoop() }
        run(loop, limit: 10)
        _ = stop
        XCTAssertEqual(fired, 0)
    }

    func testAHandlerMayArmItsOwnTimerAgain() throws {
        // The idle timeout's "bye" gets 5 more seconds from inside the handler.
        let loop = try EventLoop()
        var count = 0
        var timer: LoopTimer?
        timer = loop.makeTimer {
            count += 1
            if count < 3 { timer?.arm(0.02) } else { loop.breakLoop() }
        }
        timer?.arm(0.02)
        run(loop, limit: 10)
        XCTAssertEqual(count, 3)
        timer = nil
    }
}
