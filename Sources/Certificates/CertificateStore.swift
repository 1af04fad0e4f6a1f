import Foundation

/// Services a certificate may be enabled for (Exchange's -Services).
public enum CertificateService: String, Codable, Sendable, CaseIterable {
    case smtp = "SMTP", imap = "IMAP", pop = "POP", https = "HTTPS", management = "Management"
}

/// The `<thumbprint>.json` sidecar: what X.509 does not say about a certificate.
public struct CertificateMetadata: Codable, Sendable, Equatable {
    public var friendlyName: String
    public var services: [CertificateService]
    public var exportable: Bool
    public var origin: String          // "default", "self-signed", "imported", ...

    public init(friendlyName: String, services: [CertificateService], exportable: Bool, origin: String) {
        self.friendlyName = friendlyName
        self.services = services
        self.exportable = exportable
        self.origin = origin
    }
}

/// A certificate of the store with its chain, key and metadata, read once.
public struct StoredCertificate: Sendable {
    public var chain: [X509Certificate]     // leaf first
    public var key: PrivateKey?
    public var metadata: CertificateMetadata
    public var certificatePath: String
    public var keyPath: String?

    public init(chain: [X509Certificate], key: PrivateKey?, metadata: CertificateMetadata, certificatePath: String, keyPath: String?) {
        self.chain = chain
        self.key = key
        self.metadata = metadata
        self.certificatePath = certificatePath
        self.keyPath = keyPath
    }

    public var leaf: X509Certificate { chain[0] }
    public var thumbprint: Thumbprint { leaf.thumbprint }
}

/// A file of the store that could not be used, with the reason; never fatal for the
/// other certificates.
public struct CertificateProblem: Sendable, CustomStringConvertible, Equatable {
    public var path: String
    public var reason: String
    public var description: String { "\(path): \(reason)" }
}

/// The certificate folder (`certs/`): `<thumbprint>.pem` (leaf then chain),
/// `<thumbprint>.key` (0600) and `<thumbprint>.json`. Blocking file I/O: call it at
/// start-up, from the CLI, or from a work pool, never from an event loop.
public struct CertificateStore: Sendable {
    public let directory: String

    public init(directory: String) { self.directory = directory }

    /// Reads every certificate; damaged files are reported, not thrown.
    public func loadAll() -> (certificates: [StoredCertificate], problems: [CertificateProblem]) {
        let fm = FileManager.default
        guard let names = try? fm.contentsOfDirectory(atPath: directory) else { return ([], []) }
        var certificates: [StoredCertificate] = []
        var problems: [CertificateProblem] = []
        for name in names.sorted() where name.hasSuffix(".pem") {
            let base = String(name.dropLast(4))
            let pemPath = "\(directory)/\(name)"
            do {
                let chain = try X509Certificate.loadAll(pem: try Self.read(pemPath))
                let keyPath = "\(directory)/\(base).key"
                var key: PrivateKey?
                if fm.fileExists(atPath: keyPath) {
                    do {
                        let loaded = try PrivateKey.load(pem: try Self.read(keyPath))
                        if chain[0].matches(loaded) {
                            key = loaded
                        } else {
                            problems.append(CertificateProblem(path: keyPath, reason: "private key does not belong to the certificate \(pemPath)"))
                        }
                    } catch {
                        problems.append(CertificateProblem(path: keyPath, reason: "\(error)"))
                    }
                }
                let jsonPath = "\(directory)/\(base).json"
                var metadata = CertificateMetadata(friendlyName: "", services: [], exportable: false, origin: "unknown")
                if fm.fileExists(atPath: jsonPath) {
                    do {
                        metadata = try JSONDecoder().decode(CertificateMetadata.self, from: Data(try Self.read(jsonPath)))
                    } catch {
                        problems.append(CertificateProblem(path: jsonPath, reason: "unreadable metadata: \(error)"))
                    }
                }
                certificates.append(StoredCertificate(chain: chain, key: key, metadata: metadata,
                                                      certificatePath: pemPath, keyPath: key == nil ? nil : keyPath))
            } catch {
                problems.append(CertificateProblem(path: pemPath, reason: "\(error)"))
            }
        }
        return (certificates, problems)
    }

    /// Writes a certificate, its key (0600, never logged) and metadata.
    @discardableResult
    public func add(chain: [X509Certificate], key: PrivateKey?, metadata: CertificateMetadata) throws -> StoredCertificate {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let thumbprint = chain[0].thumbprint.hex
        var keyPath: String?
        if let key {
            let path = "\(directory)/\(thumbprint).key"
            try Self.write(try key.pem(), to: path, mode: 0o600)
            keyPath = path
        }
        let pemPath = "\(directory)/\(thumbprint).pem"
        try Self.write(chain.flatMap { (try? $0.pem()) ?? [] }, to: pemPath, mode: 0o644)
        try updateMetadata(of: chain[0].thumbprint, metadata)
        return StoredCertificate(chain: chain, key: key, metadata: metadata, certificatePath: pemPath, keyPath: keyPath)
    }

    /// Rewrites a certificate's `<thumbprint>.json` (services, friendly name, ...).
    public func updateMetadata(of thumbprint: Thumbprint, _ metadata: CertificateMetadata) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try Self.write(Array(try encoder.encode(metadata)), to: "\(directory)/\(thumbprint.hex).json", mode: 0o644)
    }

    /// Deletes a certificate's three files.
    public func remove(_ thumbprint: Thumbprint) throws {
        for suffix in ["pem", "key", "json"] {
            let path = "\(directory)/\(thumbprint.hex).\(suffix)"
            if unlink(path) != 0 && errno != ENOENT {
                throw CertificateFileError(path: path, reason: String(cString: strerror(errno)))
            }
        }
    }

    /// Creates the default certificates when the store holds no certificate at all.
    /// Returns the certificates created (empty when the store was not empty).
    public func createDefaultsIfEmpty(serverName: String, serverFQDN: String, now: Date = Date()) throws -> [StoredCertificate] {
        let existing = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        guard !existing.contains(where: { $0.hasSuffix(".pem") }) else { return [] }
        return try DefaultCertificate.allCases.map { role in
            let key = try PrivateKey.generate(.rsa(bits: 2048))
            let certificate = try role.profile(serverName: serverName, serverFQDN: serverFQDN).selfSign(key: key, now: now)
            return try add(chain: [certificate], key: key,
                           metadata: CertificateMetadata(friendlyName: role.friendlyName, services: role.services,
                                                         exportable: role.exportable, origin: "default"))
        }
    }

    static func read(_ path: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CertificateFileError(path: path, reason: "cannot read file")
        }
        return Array(data)
    }

    /// Creates the file with `mode` from the start (no window where a key is
    /// world-readable), writes it whole, fsyncs, then renames into place.
    static func write(_ bytes: [UInt8], to path: String, mode: mode_t) throws {
        let temporary = path + ".tmp"
        unlink(temporary)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw CertificateFileError(path: path, reason: String(cString: strerror(errno))) }
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                let reason = String(cString: strerror(errno))
                close(fd); unlink(temporary)
                throw CertificateFileError(path: path, reason: reason)
            }
            offset += n
        }
        fchmod(fd, mode)
        fsync(fd)
        close(fd)
        guard rename(temporary, path) == 0 else {
            throw CertificateFileError(path: path, reason: String(cString: strerror(errno)))
        }
    }
}

public struct CertificateFileError: Error, Sendable, CustomStringConvertible {
    public var path: String
    public var reason: String
    public var description: String { "\(path): \(reason)" }
}
