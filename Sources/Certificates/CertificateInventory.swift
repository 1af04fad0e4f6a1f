import Foundation

/// A certificate referenced by path from the config, read in place.
public struct CertificateFileSource: Sendable, Equatable {
    public var path: String
    public var keyPath: String
    public var friendlyName: String
    public var services: [CertificateService]

    public init(path: String, keyPath: String, friendlyName: String, services: [CertificateService]) {
        self.path = path
        self.keyPath = keyPath
        self.friendlyName = friendlyName
        self.services = services
    }
}

/// One certificate as `mailedge cert list` shows it: the stored certificate plus
/// its computed status.
public struct CertificateRecord: Sendable {
    public enum Source: Sendable, Equatable {
        case store
        case configFile(String)
    }

    public var certificate: StoredCertificate
    public var validation: CertificateValidation
    public var source: Source

    public var leaf: X509Certificate { certificate.leaf }
    public var thumbprint: Thumbprint { certificate.thumbprint }
    public var status: CertificateStatus { validation.status }
    public var services: [CertificateService] { certificate.metadata.services }
    public var hasPrivateKey: Bool { certificate.key != nil }
    public var isECC: Bool { leaf.publicKeyAlgorithm == "ECC" }
}

/// Everything the certificate manager knows: the store, the files the config
/// names, the pending requests, and whatever could not be read. Built by blocking
/// file I/O at start-up or in the CLI; immutable afterwards.
public struct CertificateInventory: Sendable {
    public var records: [CertificateRecord]
    public var requests: [PendingRequest]
    public var problems: [CertificateProblem]

    public static func load(storeDirectory: String, files: [CertificateFileSource], trust: TrustSettings, now: Date = Date()) -> CertificateInventory {
        let store = CertificateStore(directory: storeDirectory)
        var (stored, problems) = store.loadAll()
        var sources: [CertificateRecord.Source] = Array(repeating: .store, count: stored.count)
        for file in files {
            do {
                stored.append(try store.loadInPlace(file))
                sources.append(.configFile(file.path))
            } catch let error as CertificateFileError {
                problems.append(CertificateProblem(path: error.path, reason: error.reason))
            } catch {
                problems.append(CertificateProblem(path: file.path, reason: "\(error)"))
            }
        }
        let validator: CertificateValidator?
        do {
            validator = try CertificateValidator(trust: trust)
            problems += validator?.problems ?? []
        } catch {
            validator = nil
            problems.append(CertificateProblem(path: trust.trustedDirectory ?? "(trust store)", reason: "\(error)"))
        }
        var records: [CertificateRecord] = []
        for (certificate, source) in zip(stored, sources) {
            let validation = validator?.validate(certificate.chain, at: now)
                ?? CertificateValidation(status: .untrusted, rootCAType: .unknown, reason: "no trust store", chain: certificate.chain)
            records.append(CertificateRecord(certificate: certificate, validation: validation, source: source))
        }
        let (requests, requestProblems) = PendingRequestStore(storeDirectory: storeDirectory).loadAll()
        return CertificateInventory(records: records, requests: requests, problems: problems + requestProblems)
    }

    public enum Lookup: Sendable {
        case found(CertificateRecord)
        case notFound
        case ambiguous([Thumbprint])
    }

    /// DESIGN.md: the CLI accepts any unique thumbprint prefix of 8 or more characters.
    public func find(_ prefix: String) -> Lookup {
        let wanted = prefix.lowercased()
        let matches = records.filter { $0.thumbprint.hex.hasPrefix(wanted) }
        guard wanted.count >= 8 || wanted.count == 64 else { return .notFound }
        switch matches.count {
        case 0: return .notFound
        case 1: return .found(matches[0])
        default: return .ambiguous(matches.map(\.thumbprint))
        }
    }
}

extension CertificateStore {
    /// Reads a certificate the config names by path, without copying it.
    func loadInPlace(_ file: CertificateFileSource) throws -> StoredCertificate {
        let chain: [X509Certificate]
        do {
            chain = try X509Certificate.loadAll(pem: try Self.read(file.path))
        } catch let error as CertificateFileError {
            throw error
        } catch {
            throw CertificateFileError(path: file.path, reason: "\(error)")
        }
        let key: PrivateKey
        do {
            key = try PrivateKey.load(pem: try Self.read(file.keyPath))
        } catch let error as CertificateFileError {
            throw error
        } catch {
            throw CertificateFileError(path: file.keyPath, reason: "\(error)")
        }
        let arranged = CertificateChainOrder.arrange(chain, key: key)
        guard arranged.chain[0].matches(key) else {
            throw CertificateFileError(path: file.keyPath, reason: "private key does not belong to the certificate \(file.path)")
        }
        return StoredCertificate(chain: arranged.chain, key: key,
                                 metadata: CertificateMetadata(friendlyName: file.friendlyName, services: file.services,
                                                               exportable: false, origin: "config"),
                                 certificatePath: file.path, keyPath: file.keyPath)
    }
}
