/// A TLS protocol version the server may negotiate. Only 1.2 and 1.3 exist here: 1.0,
/// 1.1 and SSL are refused when the config loads (DESIGN.md, TLS policy).
public enum TLSProtocolVersion: String, Sendable, CaseIterable, Hashable, Comparable {
    case tls12 = "TLSv1.2"
    case tls13 = "TLSv1.3"

    private var order: Int {
        switch self {
        case .tls12: return 0
        case .tls13: return 1
        }
    }

    public static func < (lhs: TLSProtocolVersion, rhs: TLSProtocolVersion) -> Bool {
        lhs.order < rhs.order
    }
}
