extension MailEdgeConfig {
    /// A commented `mailedge.toml` that spells out the embedded default: parsed with the
    /// same host name it equals `embeddedDefault(hostName:)` (but for `sourcePath`).
    /// `mailedge` can print it as a starting point for a real config.
    public static let sampleTOML: String = #"""
    # mailedge.toml: MailEdge configuration.
    # Every key below shows its default; delete what you do not change.
    # Unknown keys are errors (typo protection), and `mailedge check` lists them all.

    [server]
    # name = "mail01"                # ServerName, CN of the default certificate;
    #                                # default: first label of the machine's host name
    # fqdn = "mail01.contoso.com"    # ServerFQDN; default: the machine's host name
    workers = 0                      # event-loop threads; 0 = one per core
    data_dir = "var"                 # mail, users, state
    cert_store = "certs"             # certificate store

    [tls]
    protocols = ["TLSv1.2"]          # add "TLSv1.3" to allow it; 1.0 and 1.1 are refused
    ecc_certificate_support = false  # present ECC certificates to clients that offer ECDSA
    # ciphers = "ECDHE+AESGCM:ECDHE+CHACHA20"      # TLS 1.2 override; DES, 3DES, RC2, RC4,
    #                                              # MD5, NULL, EXPORT, anonymous are refused
    # ciphersuites = "TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256"   # TLS 1.3 override
    session_ticket_keys = ""         # key file shared by a farm; "" = in-memory keys

    # Receive connectors. A production config names real addresses, e.g.
    # bind = ["0.0.0.0:25", "[::]:25"], ["0.0.0.0:993"], ...

    [[connector]]
    name = "Default Frontend"        # unique
    protocol = "smtp"                # smtp | submission | imap | pop3
    bind = ["127.0.0.1:2525"]        # numeric address:port, IPv6 as "[::1]:2525"
    tls = "starttls"                 # starttls | implicit | none
    require_tls = false              # default true for submission
    # fqdn = "mail.contoso.com"      # banner/EHLO name; default: server.fqdn
    certificate = ""                 # optional pin: thumbprint (8+ hex digits) or PEM path
    domain_secure = false            # mutual TLS with [domain_security] partners (smtp only)
    proxy_protocol_in = false        # PROXY v1/v2 from a load balancer (later release)
    backend = "store"                # "store" ("proxy://host:port": later release)
    allow_plaintext_auth = false     # never offer AUTH before TLS

    [[connector]]
    name = "Client Frontend"
    protocol = "submission"
    bind = ["127.0.0.1:2587"]
    tls = "starttls"
    require_tls = true

    [[connector]]
    name = "Client Frontend SMTPS"
    protocol = "submission"
    bind = ["127.0.0.1:2465"]
    tls = "implicit"

    [[connector]]
    name = "IMAP"                    # LOGINDISABLED until STARTTLS
    protocol = "imap"
    bind = ["127.0.0.1:2143"]
    tls = "starttls"

    [[connector]]
    name = "IMAPS"
    protocol = "imap"
    bind = ["127.0.0.1:2993"]
    tls = "implicit"

    [[connector]]
    name = "POP3"                    # no USER/PASS until STLS
    protocol = "pop3"
    bind = ["127.0.0.1:2110"]
    tls = "starttls"

    [[connector]]
    name = "POP3S"
    protocol = "pop3"
    bind = ["127.0.0.1:2995"]
    tls = "implicit"

    [limits]
    handshake_timeout = 30           # seconds
    idle_timeout = 300               # seconds (RFC 5321 server timeout)
    max_line_length = 2048           # bytes, at least 512
    max_message_size = 36700160      # bytes (35 MiB), at least 1024
    max_connections_per_client = 20
    max_recipients = 100
    drain_timeout = 10               # seconds connections get after SIGTERM

    [store]
    accepted_domains = []            # besides server.fqdn and localhost, e.g. ["contoso.com"]

    [management]
    bind = ["127.0.0.1:2443"]        # HTTPS status + /metrics (later release); [] = off

    [domain_security]
    receive_domains = []             # partner domains verified by mutual TLS
    trusted_roots = "certs/trusted"  # CAs accepted for partner certificates
    crl_dir = "certs/crl"
    require_crl = false

    """#
}
