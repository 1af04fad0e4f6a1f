import XCTest
@testable import Config

final class CipherStringPolicyTests: XCTestCase {
    func testModernStringsPass() {
        for ok in ["ECDHE+AESGCM:ECDHE+CHACHA20", "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256",
                   "HIGH:!aNULL:!MD5", "DEFAULT:-3DES:@SECLEVEL=2", "TLSv1.2+AESGCM"] {
            XCTAssertEqual(CipherStringPolicy.refusedTokens(in: ok), [], ok)
        }
    }

    func testReportsEachOffendingTokenWithAReason() {
        let refused = CipherStringPolicy.refusedTokens(in: "ECDHE-RSA-AES128-GCM-SHA256:DES-CBC3-SHA RC4-MD5,ALL")
        XCTAssertEqual(refused.map(\.token), ["DES-CBC3-SHA", "RC4-MD5", "ALL"])
        XCTAssertTrue(refused[0].reason.contains("3DES"))
        XCTAssertTrue(refused[2].reason.contains("pulls in"))
    }

    func testTLS13Suites() {
        XCTAssertEqual(CipherStringPolicy.tls13Problems(in: "TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256"), [])
        XCTAssertEqual(CipherStringPolicy.tls13Problems(in: "TLS_FOO").count, 1)
        XCTAssertEqual(CipherStringPolicy.tls13Problems(in: ":").count, 1)
    }
}
