import Foundation
import XCTest
@testable import Certificates

final class PKCS12BundleTests: XCTestCase {
    func testBundleWeWriteIsReadByTheOpenSSLTool() throws {
        let pki = try TestPKI.get()
        let key = try pki.key("leaf.key")
        let chain = [try pki.certificate("leaf.pem"), try pki.certificate("intermediate.pem"), try pki.certificate("root.pem")]
        let bytes = try PKCS12Bundle.make(key: key, chain: chain, password: "s3cret Pa55", friendlyName: "MailEdge contoso")
        let file = pki.path("export-\(UUID().uuidString).pfx")
        try Data(bytes).write(to: URL(fileURLWithPath: file))

        let contents = try pki.run(["pkcs12", "-in", file, "-nodes", "-passin", "pass:s3cret Pa55"])
        XCTAssertTrue(contents.contains("-----BEGIN PRIVATE KEY-----"), contents)
        XCTAssertEqual(contents.components(separatedBy: "-----BEGIN CERTIFICATE-----").count - 1, 3)
        XCTAssertTrue(contents.contains("friendlyName: MailEdge contoso"), contents)
        XCTAssertTrue(contents.contains("subject=CN = mail.contoso.com"), contents)

        let info = try pki.run(["pkcs12", "-in", file, "-info", "-noout", "-passin", "pass:s3cret Pa55"])
        XCTAssertTrue(info.contains("MAC: sha256"), info)
        XCTAssertTrue(info.contains("AES-256-CBC"), info)
        XCTAssertFalse(info.contains("RC2") || info.contains("3DES"), info)

        // And we read our own file back.
        let parsed = try PKCS12Bundle.parse(bytes, password: "s3cret Pa55")
        XCTAssertEqual(parsed.chain.map(\.thumbprint), chain.map(\.thumbprint))
        XCTAssertTrue(try XCTUnwrap(parsed.chain.first).matches(try XCTUnwrap(parsed.key)))
    }

    func testBundleFromTheOpenSSLToolParsesLeafFirstWithItsKey() throws {
        let pki = try TestPKI.get()
        // The tool finds the leaf by its key; the CA certificates go in scrambled.
        let bundle = pki.path("mixed-\(UUID().uuidString).pem")
        let pems = try ["root.pem", "leaf.pem", "intermediate.pem"].flatMap { try pki.bytes($0) }
        try Data(pems).write(to: URL(fileURLWithPath: bundle))
        let file = "tool-\(UUID().uuidString).pfx"
        try pki.run(["pkcs12", "-export", "-inkey", "leaf.key", "-in", bundle, "-name", "From the tool",
                     "-passout", "pass:tool", "-out", file])

        let parsed = try PKCS12Bundle.parse(try pki.bytes(file), password: "tool")
        let key = try XCTUnwrap(parsed.key)
        XCTAssertEqual(parsed.chain.map(\.subject),
                       ["CN=mail.contoso.com", "CN=MailEdge Test Intermediate", "CN=MailEdge Test Root"])
        XCTAssertTrue(parsed.chain[0].matches(key))
        XCTAssertEqual(key.algorithm, "RSA")
    }

    func testEmptyPasswordBundleFromTheToolParses() throws {
        let pki = try TestPKI.get()
        let file = "nopass-\(UUID().uuidString).pfx"
        try pki.run(["pkcs12", "-export", "-inkey", "unknown-leaf.key", "-in", "unknown-leaf.pem",
                     "-certfile", "unknown.pem", "-passout", "pass:", "-out", file])
        let parsed = try PKCS12Bundle.parse(try pki.bytes(file), password: "")
        XCTAssertNotNil(parsed.key)
        XCTAssertEqual(parsed.chain.map(\.subject), ["CN=stranger.fabrikam.com", "CN=Unknown Test Root"])
    }

    func testWrongPasswordSaysSo() throws {
        let pki = try TestPKI.get()
        let bytes = try PKCS12Bundle.make(key: try pki.key("leaf.key"), chain: [try pki.certificate("leaf.pem")],
                                          password: "right", friendlyName: "x")
        XCTAssertThrowsError(try PKCS12Bundle.parse(bytes, password: "wrong")) { error in
            XCTAssertEqual((error as? PKCS12Bundle.ReadError)?.code, .wrongPassword)
            XCTAssertTrue("\(error)".contains("password"), "\(error)")
            XCTAssertTrue("\(error)".contains("wrong"), "\(error)")
            XCTAssertFalse("\(error)".contains("right"), "the password must not leak into the error")
        }
    }

    func testNonPKCS12DataIsMalformed() throws {
        XCTAssertThrowsError(try PKCS12Bundle.parse(Array("hello".utf8), password: "x")) { error in
            XCTAssertEqual((error as? PKCS12Bundle.ReadError)?.code, .malformed)
        }
    }

    func testKeyThatDoesNotBelongToTheLeafIsRefused() throws {
        let pki = try TestPKI.get()
        XCTAssertThrowsError(try PKCS12Bundle.make(key: try pki.key("unknown-leaf.key"), chain: [try pki.certificate("leaf.pem")],
                                                   password: "p", friendlyName: "x"))
    }
}
