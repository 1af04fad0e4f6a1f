/// A `[[certificate]]` entry: a certificate read in place from files the operator
/// manages (certbot's `fullchain.pem` + `privkey.pem`, say), not copied into the store.
public struct CertificateFileConfig: Sendable, Equatable {
    /// PEM file: leaf first, then the chain.
    public var path: String
    /// PEM private key file.
    public var key: String
    public var friendlyName: String
    /// Lower-case service names: smtp, imap, pop, https.
    public var services: [String]

    public static let knownServices = ["smtp", "imap", "pop", "https"]

    public init(path: String, key: String, friendlyName: String, services: [String] = ["smtp", "imap", "pop"]) {
        self.path = path
        self.key = key
        self.friendlyName = friendlyName
        self.services = services
    }
}
