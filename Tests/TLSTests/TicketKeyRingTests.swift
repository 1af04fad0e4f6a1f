import Foundation
import XCTest
@testable import TLS

final class TicketKeyRingTests: XCTestCase {
    func testFarmFileFormats() throws {
        let folder = NSTemporaryDirectory() + "mailedge-tickets-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let raw = (0..<160).map { UInt8($0) }
        try Data(raw).write(to: URL(fileURLWithPath: "\(folder)/raw"))
        XCTAssertEqual(try TicketKeyRing(file: "\(folder)/raw").keyCount, 2)
        let lines = [Data(raw[0..<80]).base64EncodedString(), Data(raw[80..<160]).base64EncodedString()].joined(separator: "\n")
        try lines.write(toFile: "\(folder)/b64", atomically: true, encoding: .utf8)
        XCTAssertEqual(try TicketKeyRing(file: "\(folder)/b64").keyCount, 2)
        try Data(raw[0..<50]).write(to: URL(fileURLWithPath: "\(folder)/short"))
        XCTAssertThrowsError(try TicketKeyRing(file: "\(folder)/short")) { error in
            XCTAssertEqual((error as? TLSSetupError)?.key, "tls.session_ticket_keys")
        }
        XCTAssertThrowsError(try TicketKeyRing(file: "\(folder)/missing"))
    }

    func testRotationKeepsThePreviousKeyForDecryption() {
        let ring = TicketKeyRing(rotation: 3600)
        XCTAssertEqual(ring.keyCount, 1)
        var name = [UInt8](repeating: 0, count: 16)
        var iv = [UInt8](repeating: 0, count: 16)
        let cipher = EVPContexts()
        XCTAssertEqual(ring.handle(name: &name, iv: &iv, cipher: cipher.cipher, mac: cipher.mac, encrypt: true), 1)
        let firstName = name
        ring.age(by: 3601)
        XCTAssertEqual(ring.handle(name: &name, iv: &iv, cipher: cipher.cipher, mac: cipher.mac, encrypt: true), 1)
        XCTAssertEqual(ring.keyCount, 2, "a new key encrypts, the old one still decrypts")
        XCTAssertNotEqual(name, firstName)
        var old = firstName
        XCTAssertEqual(ring.handle(name: &old, iv: &iv, cipher: cipher.cipher, mac: cipher.mac, encrypt: false), 2, "old key: renew the ticket")
        XCTAssertEqual(ring.handle(name: &name, iv: &iv, cipher: cipher.cipher, mac: cipher.mac, encrypt: false), 1)
        ring.age(by: 2 * 3601)
        _ = ring.handle(name: &name, iv: &iv, cipher: cipher.cipher, mac: cipher.mac, encrypt: true)
        XCTAssertEqual(ring.keyCount, 1, "keys older than two periods are dropped")
        XCTAssertEqual(ring.handle(name: &old, iv: &iv, cipher: cipher.cipher, mac: cipher.mac, encrypt: false), 0, "unknown key: full handshake")
    }
}
