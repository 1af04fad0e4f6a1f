import XCTest
import Reactor

extension XCTestCase {
    /// Runs `loop` until a handler breaks it, with a safety stop after `limit`
    /// seconds that fails the test.
    func run(_ loop: EventLoop, limit: Double = 20) {
        var expired = false
        let guardTimer = loop.schedule(after: limit) { expired = true; loop.breakLoop() }
        loop.run()
        guardTimer.cancel()
        XCTAssertFalse(expired, "the loop hit its \(limit) s limit")
    }
}
