import Foundation

/// A certificate request waiting for its CA: `certs/requests/<id>.key` (0600),
/// `<id>.csr` and `<id>.json`, where `<id>` is the SHA-256 of the public key, so
/// the issued certificate finds its key on import.
public struct PendingRequest: Sendable {
    public struct Metadata: Codable, Sendable, Equatable {
        public var friendlyName: String
        public var services: [CertificateService]
        public var domains: [String]
        public var subject: String
        public var exportable: Bool
        public var created: Date

        public init(friendlyName: String, services: [CertificateService], domains: [String], subject: String, exportable: Bool, created: Date) {
            self.friendlyName = friendlyName
            self.services = services
            self.domains = domains
            self.subject = subject
            self.exportable = exportable
            self.created = created
        }
    }

    public var id: String
    public var key: PrivateKey
    public var csrPEM: [UInt8]
    public var metadata: Metadata
    public var keyPath: String
    public var csrPath: String
}

/// The `requests/` folder of the certificate store. Blocking file I/O (CLI only).
public struct PendingRequestStore: Sendable {
    public let directory: String

    public init(storeDirectory: String) { directory = "\(storeDirectory)/requests" }

    public func save(key: PrivateKey, csrPEM: [UInt8], metadata: PendingRequest.Metadata) throws -> PendingRequest {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let id = key.publicKeyFingerprint
        let keyPath = "\(directory)/\(id).key"
        let csrPath = "\(directory)/\(id).csr"
        try CertificateStore.write(try key.pem(), to: keyPath, mode: 0o600)
        try CertificateStore.write(csrPEM, to: csrPath, mode: 0o644)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        try CertificateStore.write(Array(try encoder.encode(metadata)), to: "\(directory)/\(id).json", mode: 0o644)
        return PendingRequest(id: id, key: key, csrPEM: csrPEM, metadata: metadata, keyPath: keyPath, csrPath: csrPath)
    }

    public func loadAll() -> (requests: [PendingRequest], problems: [CertificateProblem]) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return ([], []) }
        var requests: [PendingRequest] = []
        var problems: [CertificateProblem] = []
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        for name in names.sorted() where name.hasSuffix(".key") {
            let id = String(name.dropLast(4))
            let keyPath = "\(directory)/\(name)"
            do {
                let key = try PrivateKey.load(pem: try CertificateStore.read(keyPath))
                let csrPath = "\(directory)/\(id).csr"
                let csr = (try? CertificateStore.read(csrPath)) ?? []
                let metadata = try decoder.decode(PendingRequest.Metadata.self, from: Data(try CertificateStore.read("\(directory)/\(id).json")))
                requests.append(PendingRequest(id: id, key: key, csrPEM: csr, metadata: metadata, keyPath: keyPath, csrPath: csrPath))
            } catch {
                problems.append(CertificateProblem(path: keyPath, reason: "\(error)"))
            }
        }
        return (requests, problems)
    }

    /// The request whose key belongs to `certificate`, if any.
    public func request(for certificate: X509Certificate) -> PendingRequest? {
        loadAll().requests.first { $0.id == certificate.publicKeyFingerprint }
    }

    /// Deletes the request's files once its certificate is imported.
    public func remove(_ request: PendingRequest) {
        for suffix in ["key", "csr", "json"] { unlink("\(directory)/\(request.id).\(suffix)") }
    }
}
