import Foundation
import XCTest
@testable import MailProtocols

final class DomainSecurityTests: XCTestCase {
    let good = ClientCertificateFacts(subject: "CN=mail.fabrikam.com", issuer: "CN=Fabrikam CA", thumbprint: "aa",
                                      names: ["mail.fabrikam.com"], failure: nil)

    func testTheTableOfReplies() {
        let policy = DomainSecurityPolicy(secureDomains: ["Fabrikam.com"], connectorEnabled: true)
        let tls = TLSFacts(version: "TLSv1.2", cipher: "X", clientCertificate: good)
        XCTAssertEqual(policy.check(sender: "bob@northwind.com", tls: nil), .notSecureDomain)
        XCTAssertEqual(policy.check(sender: "", tls: nil), .notSecureDomain)
        XCTAssertEqual(policy.check(sender: "bob@FABRIKAM.com", tls: tls), .partner(domain: "fabrikam.com"))
        guard case .refused(let noTLS, _) = policy.check(sender: "bob@fabrikam.com", tls: nil) else { return XCTFail() }
        XCTAssertEqual(noTLS, "530 5.7.1 Not authenticated")
        guard case .refused(let noCert, let why) = policy.check(sender: "bob@fabrikam.com", tls: TLSFacts(version: "TLSv1.2", cipher: "X")) else { return XCTFail() }
        XCTAssertEqual(noCert, "530 5.7.1 Not authenticated")
        XCTAssertTrue(why.contains("no certificate"))
        var bad = good
        bad.failure = "revoked by its CA"
        guard case .refused(let invalid, let reason) = policy.check(sender: "bob@fabrikam.com", tls: TLSFacts(version: "v", cipher: "c", clientCertificate: bad)) else { return XCTFail() }
        XCTAssertEqual(invalid, "454 4.7.5 Certificate validation failure")
        XCTAssertTrue(reason.contains("revoked"))
        var other = good
        other.names = ["mail.tailspintoys.com", "fabrikam.com.evil.test"]
        guard case .refused(let mismatch, _) = policy.check(sender: "bob@fabrikam.com", tls: TLSFacts(version: "v", cipher: "c", clientCertificate: other)) else { return XCTFail() }
        XCTAssertEqual(mismatch, "454 4.7.5 Certificate validation failure")
        let off = DomainSecurityPolicy(secureDomains: ["fabrikam.com"], connectorEnabled: false)
        guard case .refused(let notHere, _) = off.check(sender: "bob@fabrikam.com", tls: tls) else { return XCTFail() }
        XCTAssertTrue(notHere.hasPrefix("451 4.7.3"))
    }

    func testNamesCoveringADomain() {
        for name in ["fabrikam.com", "mail.fabrikam.com", "*.fabrikam.com", "MX.EU.Fabrikam.com."] {
            XCTAssertTrue(DomainSecurityPolicy.name(name, coversDomain: "fabrikam.com"), name)
        }
        for name in ["fabrikam.com.evil.test", "notfabrikam.com", "*.com", "tailspintoys.com"] {
            XCTAssertFalse(DomainSecurityPolicy.name(name, coversDomain: "fabrikam.com"), name)
        }
    }

    func testReservedHeadersAreRemovedFromTheHeaderSectionOnly() {
        let message = "Subject: x\r\nX-MailEdge-AuthAs: Partner\r\nx-mailedge-authdomain: a\r\n\tfolded\r\nTo: y\r\n\r\nX-MailEdge-AuthAs: body\r\n"
        let cleaned = String(decoding: removingReservedHeaders(Array(message.utf8)), as: UTF8.self)
        XCTAssertEqual(cleaned, "Subject: x\r\nTo: y\r\n\r\nX-MailEdge-AuthAs: body\r\n")
    }

    func testPartnerSessionHeadersAndReceivedFacts() {
        var policy = SMTPPolicy(fqdn: "mx.contoso.com", role: .inbound, tlsMode: .starttls)
        policy.domainSecurity = DomainSecurityPolicy(secureDomains: ["fabrikam.com"], connectorEnabled: true)
        var session = SMTPSession(policy: policy, clientAddress: "192.0.2.1", tls: nil, clock: { Date(timeIntervalSince1970: 0) })
        _ = session.start()
        _ = session.receive(Array("EHLO mail.fabrikam.com\r\nSTARTTLS\r\n".utf8))
        _ = session.tlsEstablished(TLSFacts(version: "TLSv1.2", cipher: "C", clientCertificate: good))
        let mail = session.receive(Array("EHLO mail.fabrikam.com\r\nMAIL FROM:<bob@fabrikam.com>\r\nRCPT TO:<a@contoso.com>\r\n".utf8))
        XCTAssertTrue(mail.contains(.domainSecurity(.partner(domain: "fabrikam.com"))))
        _ = session.recipientVerified(.local)
        let data = session.receive(Array("DATA\r\nX-MailEdge-AuthAs: forged\r\nSubject: s\r\n\r\nhi\r\n.\r\n".utf8))
        guard let envelope = data.compactMap({ if case .deliver(let e) = $0 { return e } else { return nil } }).first else { return XCTFail() }
        let text = String(decoding: envelope.message, as: UTF8.self)
        XCTAssertEqual(envelope.partnerDomain, "fabrikam.com")
        XCTAssertTrue(text.contains("(client certificate subject=\"CN=mail.fabrikam.com\" issuer=\"CN=Fabrikam CA\" verify=OK)"))
        XCTAssertTrue(text.contains("X-MailEdge-AuthAs: Partner\r\nX-MailEdge-AuthMechanism: MutualTLS\r\nX-MailEdge-AuthDomain: fabrikam.com\r\nSubject: s"))
        XCTAssertFalse(text.contains("forged"))
    }
}
