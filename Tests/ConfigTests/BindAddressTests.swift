import XCTest
@testable import Config

final class BindAddressTests: XCTestCase {
    func testParsesIPv4AndBracketedIPv6() throws {
        let v4 = try XCTUnwrap(BindAddress.parse("127.0.0.1:25"))
        XCTAssertEqual(v4.host, "127.0.0.1")
        XCTAssertEqual(v4.port, 25)
        XCTAssertFalse(v4.isIPv6)
        XCTAssertFalse(v4.isWildcard)
        XCTAssertEqual(v4.description, "127.0.0.1:25")

        let v6 = try XCTUnwrap(BindAddress.parse("[::1]:25"))
        XCTAssertEqual(v6.host, "::1")
        XCTAssertTrue(v6.isIPv6)
        XCTAssertEqual(v6.description, "[::1]:25")
    }

    func testWildcardsAndCanonicalForm() throws {
        XCTAssertTrue(try XCTUnwrap(BindAddress.parse("0.0.0.0:25")).isWildcard)
        XCTAssertTrue(try XCTUnwrap(BindAddress.parse("[::]:25")).isWildcard)
        XCTAssertTrue(try XCTUnwrap(BindAddress.parse("[0:0:0:0:0:0:0:0]:25")).isWildcard)
        XCTAssertEqual(BindAddress.parse("[2001:DB8:0:0:0:0:0:1]:587")?.host, "2001:db8::1")
        XCTAssertEqual(BindAddress.parse("[2001:db8::1]:587"), BindAddress.parse("[2001:DB8::0:1]:587"))
    }

    func testPortRange() {
        XCTAssertEqual(BindAddress.parse("127.0.0.1:0")?.port, 0)
        XCTAssertEqual(BindAddress.parse("127.0.0.1:65535")?.port, 65535)
        XCTAssertNil(BindAddress.parse("127.0.0.1:65536"))
        XCTAssertNil(BindAddress.parse("127.0.0.1:+25"))
        XCTAssertNil(BindAddress.parse("127.0.0.1:"))
    }

    func testRefusesNamesAndMalformedAddresses() {
        for bad in ["localhost:25", "::1:25", "[::1]", "127.0.0.1", "[127.0.0.1]:25", "1.2.3:25", "", "[::1]x25", "[fe80::1%eth0]:25"] {
            XCTAssertNil(BindAddress.parse(bad), bad)
        }
    }

    func testConflicts() throws {
        func a(_ s: String) throws -> BindAddress { try XCTUnwrap(BindAddress.parse(s)) }
        XCTAssertTrue(try a("127.0.0.1:25").conflicts(with: a("127.0.0.1:25")))
        XCTAssertTrue(try a("0.0.0.0:25").conflicts(with: a("127.0.0.1:25")))
        XCTAssertTrue(try a("[::1]:25").conflicts(with: a("[::]:25")))
        XCTAssertFalse(try a("0.0.0.0:25").conflicts(with: a("[::]:25")))
        XCTAssertFalse(try a("127.0.0.1:25").conflicts(with: a("127.0.0.1:26")))
        XCTAssertFalse(try a("127.0.0.1:0").conflicts(with: a("127.0.0.1:0")))
    }

    func testInitFromHostAndPort() {
        XCTAssertEqual(BindAddress(host: "::1", port: 25)?.description, "[::1]:25")
        XCTAssertNil(BindAddress(host: "mail.contoso.com", port: 25))
    }
}
