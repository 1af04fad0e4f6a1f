import Foundation
import XCTest
@testable import Reactor

/// The peer address text of accepted connections: IPv4 is formatted by hand, so
/// every octet value is checked to come back as the canonical dotted quad it was
/// parsed from (inet_pton); IPv6 still goes through inet_ntop.
final class AddressTextTests: XCTestCase {
    private func describe(ipv4 text: String) -> String {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        XCTAssertEqual(inet_pton(AF_INET, text, &address.sin_addr), 1, text)
        return withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { describeAddress($0) }
        }
    }

    func testIPv4TextIsTheCanonicalDottedQuadForEveryOctetValue() {
        for value in 0...255 {
            for text in ["\(value).0.0.1", "10.\(value).\(255 - value).\(value)", "\(value).\(value).\(value).\(value)"] {
                XCTAssertEqual(describe(ipv4: text), text)
            }
        }
        XCTAssertEqual(describe(ipv4: "127.0.0.1"), "127.0.0.1")
        XCTAssertEqual(describe(ipv4: "0.0.0.0"), "0.0.0.0")
        XCTAssertEqual(describe(ipv4: "255.255.255.255"), "255.255.255.255")
    }

    func testIPv6TextIsInetNtops() {
        for text in ["::1", "2001:db8::25", "fe80::1:2:3:4", "::ffff:192.0.2.1"] {
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            XCTAssertEqual(inet_pton(AF_INET6, text, &address.sin6_addr), 1, text)
            let described = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { describeAddress($0) }
            }
            XCTAssertEqual(described, text)
        }
    }
}
