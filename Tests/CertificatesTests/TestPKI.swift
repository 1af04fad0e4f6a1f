import Foundation
import XCTest
@testable import Certificates

/// Runs the `openssl` command line tool; the tests check MailEdge against it.
enum OpenSSLTool {
    struct Failure: Error, CustomStringConvertible {
        var command: String
        var output: String
        var description: String { "openssl \(command) failed:\n\(output)" }
    }

    /// Runs `openssl <arguments>` in `directory`; stdout and stderr together.
    @discardableResult
    static func run(_ arguments: [String], in directory: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["openssl"] + arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        // Read before waiting, so a large output cannot fill the pipe and stall.
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let output = String(decoding: data, as: UTF8.self)
        guard process.terminationStatus == 0 else {
            throw Failure(command: arguments.joined(separator: " "), output: output)
        }
        return output
    }
}

/// A small CA hierarchy made once per test run with `openssl req` and `openssl ca`
/// in a temporary folder (removed at exit):
///
///     MailEdge Test Root (EC P-256)  ── root.crl (revokes nothing)
///       └ MailEdge Test Intermediate (EC P-256) ── intermediate.crl (revokes revoked.pem)
///           ├ leaf.pem      CN=mail.contoso.com, RSA 2048, valid now
///           ├ expired.pem   2020-01-01 .. 2021-01-01
///           ├ notyet.pem    2090-01-01 .. 2091-01-01
///           └ revoked.pem   valid dates, revoked
///     Unknown Test Root ── unknown-leaf.pem (CN=stranger.fabrikam.com)
final class TestPKI: Sendable {
    let directory: String

    static let shared = Result { try TestPKI() }

    /// The shared hierarchy, or the test fails with openssl's output.
    static func get() throws -> TestPKI { try shared.get() }

    private init() throws {
        directory = NSTemporaryDirectory() + "mailedge-pki-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        atexit { if case .success(let pki) = TestPKI.shared { try? FileManager.default.removeItem(atPath: pki.directory) } }

        try makeCA("root", subject: "/CN=MailEdge Test Root")
        try makeCA("unknown", subject: "/CN=Unknown Test Root")
        try makeKey("intermediate")
        try run(["req", "-new", "-key", "intermediate.key", "-subj", "/CN=MailEdge Test Intermediate",
                 "-config", "root/ca.cnf", "-out", "intermediate.csr"])
        try issue(by: "root", csr: "intermediate.csr", out: "intermediate.pem", extensions: "v3_ca")
        try makeCADatabase("intermediate", certificate: "intermediate.pem")

        try run(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", "leaf.key"])
        try run(["req", "-new", "-key", "leaf.key", "-subj", "/CN=mail.contoso.com",
                 "-config", "root/ca.cnf", "-out", "leaf.csr"])
        try issue(by: "intermediate", csr: "leaf.csr", out: "leaf.pem", extensions: "v3_leaf")
        try issue(by: "intermediate", csr: "leaf.csr", out: "expired.pem", extensions: "v3_leaf",
                  dates: ("20200101000000Z", "20210101000000Z"))
        try issue(by: "intermediate", csr: "leaf.csr", out: "notyet.pem", extensions: "v3_leaf",
                  dates: ("20900101000000Z", "20910101000000Z"))
        try issue(by: "intermediate", csr: "leaf.csr", out: "revoked.pem", extensions: "v3_leaf")
        try run(["ca", "-batch", "-config", "intermediate/ca.cnf", "-revoke", "revoked.pem", "-crl_reason", "keyCompromise"])
        try run(["ca", "-batch", "-config", "intermediate/ca.cnf", "-gencrl", "-out", "intermediate.crl"])
        try run(["ca", "-batch", "-config", "root/ca.cnf", "-gencrl", "-out", "root.crl"])

        try makeKey("unknown-leaf")
        try run(["req", "-new", "-key", "unknown-leaf.key", "-subj", "/CN=stranger.fabrikam.com",
                 "-config", "root/ca.cnf", "-out", "unknown-leaf.csr"])
        try issue(by: "unknown", csr: "unknown-leaf.csr", out: "unknown-leaf.pem", extensions: "v3_leaf")
    }

    func path(_ name: String) -> String { "\(directory)/\(name)" }

    func bytes(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: URL(fileURLWithPath: path(name))))
    }

    func certificate(_ name: String) throws -> X509Certificate {
        try XCTUnwrap(X509Certificate.loadAll(pem: bytes(name)).first)
    }

    func key(_ name: String) throws -> PrivateKey { try PrivateKey.load(pem: bytes(name)) }

    /// A new folder holding copies of `files` (e.g. a trusted-roots folder).
    func folder(_ name: String, with files: [String]) throws -> String {
        let folder = path(name)
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        for file in files { try FileManager.default.copyItem(atPath: path(file), toPath: "\(folder)/\(file)") }
        return folder
    }

    @discardableResult
    func run(_ arguments: [String]) throws -> String { try OpenSSLTool.run(arguments, in: directory) }

    private func makeKey(_ name: String) throws {
        try run(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "\(name).key"])
    }

    /// A self-signed root with its own `openssl ca` database.
    private func makeCA(_ name: String, subject: String) throws {
        try makeKey(name)
        try makeCADatabase(name, certificate: "\(name).pem")
        try run(["req", "-new", "-x509", "-key", "\(name).key", "-subj", subject, "-days", "3650",
                 "-config", "\(name)/ca.cnf", "-extensions", "v3_ca", "-out", "\(name).pem"])
    }

    private func makeCADatabase(_ name: String, certificate: String) throws {
        let ca = path(name)
        try FileManager.default.createDirectory(atPath: "\(ca)/newcerts", withIntermediateDirectories: true)
        try "".write(toFile: "\(ca)/index.txt", atomically: true, encoding: .utf8)
        try "1000\n".write(toFile: "\(ca)/serial", atomically: true, encoding: .utf8)
        try "1000\n".write(toFile: "\(ca)/crlnumber", atomically: true, encoding: .utf8)
        let config = """
        [ ca ]
        default_ca = CA_default
        [ CA_default ]
        dir = \(ca)
        database = $dir/index.txt
        new_certs_dir = $dir/newcerts
        serial = $dir/serial
        crlnumber = $dir/crlnumber
        certificate = \(path(certificate))
        private_key = \(path("\(name).key"))
        default_md = sha256
        default_days = 365
        default_crl_days = 30
        policy = policy_any
        unique_subject = no
        email_in_dn = no
        [ policy_any ]
        commonName = supplied
        [ req ]
        distinguished_name = req_dn
        [ req_dn ]
        [ v3_ca ]
        basicConstraints = critical, CA:TRUE
        keyUsage = critical, keyCertSign, cRLSign
        subjectKeyIdentifier = hash
        authorityKeyIdentifier = keyid:always
        [ v3_leaf ]
        basicConstraints = critical, CA:FALSE
        keyUsage = critical, digitalSignature, keyEncipherment
        extendedKeyUsage = serverAuth, clientAuth
        subjectAltName = DNS:mail.contoso.com, DNS:autodiscover.contoso.com
        subjectKeyIdentifier = hash
        authorityKeyIdentifier = keyid
        """
        try config.write(toFile: "\(ca)/ca.cnf", atomically: true, encoding: .utf8)
    }

    private func issue(by ca: String, csr: String, out: String, extensions: String,
                       dates: (String, String)? = nil) throws {
        var arguments = ["ca", "-batch", "-notext", "-config", "\(ca)/ca.cnf", "-extensions", extensions,
                         "-in", csr, "-out", out]
        if let dates { arguments += ["-startdate", dates.0, "-enddate", dates.1] }
        try run(arguments)
    }
}
