import Foundation
import XCTest
@testable import Certificates

final class CertificateChainOrderTests: XCTestCase {
    private let expected = ["CN=mail.contoso.com", "CN=MailEdge Test Intermediate", "CN=MailEdge Test Root"]

    func testShuffledBundleIsOrderedFromTheKeysCertificateAndTheStrangerIsDropped() throws {
        let pki = try TestPKI.get()
        let shuffled = try ["root.pem", "unknown.pem", "leaf.pem", "intermediate.pem"].map { try pki.certificate($0) }
        let (chain, problem) = CertificateChainOrder.arrange(shuffled, key: try pki.key("leaf.key"))
        XCTAssertEqual(chain.map(\.subject), expected)
        let reported = try XCTUnwrap(problem)
        XCTAssertTrue(reported.contains("CN=Unknown Test Root"), reported)
        XCTAssertTrue(reported.contains("dropped 1 certificate"), reported)
    }

    func testWithoutKeyTheLeafIsTheCertificateThatIssuesNoOther() throws {
        let pki = try TestPKI.get()
        let shuffled = try ["intermediate.pem", "unknown.pem", "root.pem", "leaf.pem"].map { try pki.certificate($0) }
        let (chain, problem) = CertificateChainOrder.arrange(shuffled, key: nil)
        XCTAssertEqual(chain.map(\.subject), expected)
        XCTAssertTrue(problem?.contains("CN=Unknown Test Root") == true, problem ?? "nil")
    }

    func testCompleteChainInOrderHasNoProblemAndDuplicatesAreNotExtras() throws {
        let pki = try TestPKI.get()
        let certificates = try ["leaf.pem", "intermediate.pem", "intermediate.pem", "root.pem"].map { try pki.certificate($0) }
        let (chain, problem) = CertificateChainOrder.arrange(certificates, key: try pki.key("leaf.key"))
        XCTAssertEqual(chain.map(\.subject), expected)
        XCTAssertNil(problem)
    }

    func testChainWithoutRootStopsAtTheLastIssuerPresent() throws {
        let pki = try TestPKI.get()
        let certificates = try ["intermediate.pem", "leaf.pem"].map { try pki.certificate($0) }
        let (chain, problem) = CertificateChainOrder.arrange(certificates, key: nil)
        XCTAssertEqual(chain.map(\.subject), Array(expected.prefix(2)))
        XCTAssertNil(problem)
    }

    func testNoCertificateMatchingTheKeyLeavesTheInputUnchanged() throws {
        let pki = try TestPKI.get()
        let certificates = try ["intermediate.pem", "leaf.pem", "root.pem"].map { try pki.certificate($0) }
        let (chain, problem) = CertificateChainOrder.arrange(certificates, key: try pki.key("unknown-leaf.key"))
        XCTAssertEqual(chain.map(\.thumbprint), certificates.map(\.thumbprint))
        XCTAssertEqual(problem, "no certificate in the file matches the private key")
    }
}
