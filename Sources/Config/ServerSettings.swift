/// `[server]`: who this server is (ServerName, ServerFQDN, as in Exchange) and where
/// it keeps its data. Part of the immutable config snapshot.
public struct ServerSettings: Sendable, Equatable {
    /// ServerName: the CN of the default certificate.
    public var name: String
    /// ServerFQDN: default banner name of every connector.
    public var fqdn: String
    /// Event-loop threads; 0 means one per core, resolved by the server, not here.
    public var workers: Int
    /// Mail, users and state; relative paths are relative to the working directory.
    public var dataDir: String
    /// The certificate store folder.
    public var certStore: String

    public init(name: String, fqdn: String, workers: Int = 0, dataDir: String = "var", certStore: String = "certs") {
        self.name = name
        self.fqdn = fqdn
        self.workers = workers
        self.dataDir = dataDir
        self.certStore = certStore
    }

    /// The defaults for a machine called `hostName`: name is its first label, fqdn the
    /// whole name. An empty host name falls back to "localhost".
    public static func defaults(hostName: String) -> ServerSettings {
        let fqdn = hostName.isEmpty ? "localhost" : hostName
        let name = fqdn.split(separator: ".", omittingEmptySubsequences: false).first.map(String.init) ?? fqdn
        return ServerSettings(name: name.isEmpty ? fqdn : name, fqdn: fqdn)
    }
}
