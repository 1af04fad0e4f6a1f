import Logging
import XCTest
@testable import Server

/// The close line's fast path (`LineFormat.fixedLine`, values appended between
/// precomputed separators) must write exactly what the handler writes for the same
/// fields, wherever the handler's own metadata sorts among the line's keys.
final class CloseLineFormatTests: XCTestCase {
    private func logger(_ metadata: Logger.Metadata) -> Logger {
        var logger = Logger(label: "mailedge") { label in MailEdgeLogHandler(label: label, level: .info) }
        for (key, value) in metadata { logger[metadataKey: key] = value }
        return logger
    }

    /// Both lines without their timestamps (the handler's and the fast path's may
    /// straddle a second).
    private func lines(_ metadata: Logger.Metadata, keys: [StaticString]) -> (handler: String, fixed: String) {
        let logger = logger(metadata)
        let values = keys.map { "v-\($0)" }
        var fields: Logger.Metadata = [:]
        for (key, value) in zip(keys, values) { fields["\(key)"] = .string(value) }
        let handler = logger.handler as! MailEdgeLogHandler
        let event = LogEvent(level: .info, message: "connection closed", metadata: fields, source: "Server",
                             file: #fileID, function: #function, line: #line)
        let handlerLine = handler.line(for: event)

        let frame = MailEdgeLogHandler.LineFormat(logger)!.fixedLine(level: .info, keys: keys, source: "Server",
                                                                     message: "connection closed")
        var fixedLine = Array(MailEdgeLogHandler.timestamp().utf8) + frame.head
        for (separator, value) in zip(frame.separators, values) {
            fixedLine += separator
            fixedLine += Array(value.utf8)
        }
        fixedLine += frame.tail
        func withoutTimestamp(_ line: [UInt8]) -> String {
            String(decoding: line.drop { $0 != 0x20 }, as: UTF8.self)
        }
        return (withoutTimestamp(handlerLine), withoutTimestamp(fixedLine))
    }

    private func check(_ metadata: Logger.Metadata, file: StaticString = #filePath, line: UInt = #line) {
        for keys in [Worker.closeKeysTLS, Worker.closeKeysPlain] {
            let (handler, fixed) = lines(metadata, keys: keys)
            XCTAssertEqual(fixed, handler, file: file, line: line)
            XCTAssertTrue(handler.hasSuffix(" [Server] connection closed\n"), handler, file: file, line: line)
        }
    }

    func testNoHandlerMetadata() {
        check([:])
        XCTAssertEqual(lines([:], keys: Worker.closeKeysPlain).handler,
                       " info mailedge: client=v-client conn=v-conn connector=v-connector duration_ms=v-duration_ms"
                       + " reason=v-reason [Server] connection closed\n")
    }

    func testMetadataAfterEveryKey() {
        // What the server has: each worker's logger carries `worker`.
        check(["worker": "0"])
        XCTAssertTrue(lines(["worker": "3"], keys: Worker.closeKeysTLS).fixed
            .hasSuffix(" tls_version=v-tls_version worker=3 [Server] connection closed\n"))
    }

    func testMetadataBeforeEveryKey() {
        check(["aaa": "first"])
        XCTAssertTrue(lines(["aaa": "first"], keys: Worker.closeKeysPlain).fixed
            .hasPrefix(" info mailedge: aaa=first client=v-client "))
    }

    func testMetadataBetweenKeys() {
        // "cipher" < "cipher_x" < "client"; "d" between "connector" and "duration_ms".
        check(["cipher_x": "between"])
        check(["d": "mid"])
        XCTAssertTrue(lines(["cipher_x": "between"], keys: Worker.closeKeysTLS).fixed
            .contains(" cipher=v-cipher cipher_x=between client=v-client "))
    }

    func testAFieldWinsOverHandlerMetadataOfTheSameName() {
        check(["conn": "from-the-handler"])
        XCTAssertFalse(lines(["conn": "from-the-handler"], keys: Worker.closeKeysPlain).fixed.contains("from-the-handler"))
    }

    func testMixedAndNonStringMetadata() {
        check(["zzz": "last", "aaa": "first", "d": "mid", "conn": "x", "worker": "1",
               "list": .array(["a", "b"]), "number": .stringConvertible(42)])
    }
}
