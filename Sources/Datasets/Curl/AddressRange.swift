/// The kind of network an IP address belongs to, for deciding where a mirror's redirect may lead. Public because
/// `FetchError.redirectRefused` carries one.
package enum AddressRange: String, Sendable, Equatable, Hashable, CustomStringConvertible {
    /// Anything not listed below: reachable across the internet.
    case publicInternet = "public"
    /// 127.0.0.0/8, ::1.
    case loopback
    /// 169.254.0.0/16, fe80::/10.
    case linkLocal = "link-local"
    /// 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 100.64.0.0/10 (carrier-grade NAT), fc00::/7.
    case privateNetwork = "private"
    /// 0.0.0.0/8, :: (Linux connects 0.0.0.0 to the local host).
    case unspecified

    package var description: String { rawValue }

    /// The range of an IPv4 (4 bytes) or IPv6 (16 bytes) address in network byte order; nil for any other length.
    /// An IPv6 address that embeds an IPv4 one (IPv4-mapped ::ffff:a.b.c.d, or NAT64 64:ff9b::a.b.c.d) has the
    /// range of the embedded address, so ::ffff:127.0.0.1 is loopback.
    package init?(addressBytes b: [UInt8]) {
        switch b.count {
        case 4: self = Self.ipv4(b[0], b[1])
        case 16:
            let prefix = Array(b[0..<12])
            if prefix == [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff]
                || prefix == [0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0]
            {
                self = Self.ipv4(b[12], b[13])
            } else if b[0..<15].allSatisfy({ $0 == 0 }) {
                self = b[15] == 1 ? .loopback : b[15] == 0 ? .unspecified : .publicInternet
            } else if b[0] == 0xfe && b[1] & 0xc0 == 0x80 {
                self = .linkLocal
            } else if b[0] & 0xfe == 0xfc {
                self = .privateNetwork
            } else {
                self = .publicInternet
            }
        default: return nil
        }
    }

    private static func ipv4(_ a: UInt8, _ b: UInt8) -> AddressRange {
        switch (a, b) {
        case (0, _): .unspecified
        case (127, _): .loopback
        case (169, 254): .linkLocal
        case (10, _), (192, 168): .privateNetwork
        case (172, _) where b & 0xf0 == 16: .privateNetwork
        case (100, _) where b & 0xc0 == 64: .privateNetwork
        default: .publicInternet
        }
    }
}

/// Where a mirror's redirects may lead. The check is made on each address libcurl is about to connect to
/// (CURLOPT_OPENSOCKETFUNCTION), after name resolution, so a name that resolves differently on each lookup (DNS
/// rebinding) cannot slip past it. The configured mirror itself is always reachable.
package enum RedirectPolicy: Sendable, Equatable {
    /// Public addresses, the mirror's own address, and whatever non-public range the mirror itself connected to:
    /// a mirror configured on 127.0.0.1 may redirect within loopback, one on the internet may not leave it.
    case publicOrMirrorRange
    /// Public addresses and the mirror's own address and port only, wherever the mirror is: the mirror's range
    /// grants nothing. Stricter than the default (tests use it to check refusals with a mirror on loopback).
    case publicOnly
}
