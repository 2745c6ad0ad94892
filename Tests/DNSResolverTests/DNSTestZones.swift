import DNSCore
import DNSResolver
import Foundation
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The test zones every live DNS test serves: an unsigned zone with every record type Sealbox reads
/// and a CNAME chain, a DNSSEC-signed zone with one record tampered with after signing, and
/// reverse zones for an IPv4 and an IPv6 address. (Names avoid `.test`, `.invalid` and the
/// documentation address blocks, which libunbound answers locally by default.)
enum DNSTestZones {
    static let tlsaHex = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
    static let ipv4 = IPAddress("1.2.3.4")!
    static let ipv6 = IPAddress("2a01:4f8::25")!

    static var zones: [TestDNSServer.Zone] {
        [
            .init("plain.example", records: """
                @ IN MX 20 mx2
                @ IN MX 10 mx1
                @ IN TXT "v=spf1 ip4:1.2.3.0/24 " "-all"
                @ IN TXT "second record"
                mx1 IN A 1.2.3.4
                mx1 IN AAAA 2a01:4f8::25
                mx2 IN A 1.2.3.5
                _25._tcp.mx1 IN TLSA 3 1 1 \(tlsaHex)
                _submissions._tcp IN SRV 0 1 465 mx1
                alias IN CNAME alias2
                alias2 IN CNAME mx1
                dangling IN CNAME nowhere
                nullmx IN MX 0 .
                """),
            .init("signed.example", signed: true, tamper: [(from: "1.2.3.8", to: "1.2.3.9")], records: """
                @ IN MX 10 mx
                mx IN A 1.2.3.7
                bad IN A 1.2.3.8
                _25._tcp.mx IN TLSA 3 1 1 \(tlsaHex)
                """),
            .init("2.1.in-addr.arpa", records: "4.3 IN PTR mx1.plain.example."),
            .init("8.f.4.0.1.0.a.2.ip6.arpa", records: "\(DNSName.reverse(ipv6).absoluteText) IN PTR mx1.plain.example."),
        ]
    }

    /// A resolver asking `server` only.
    static func resolver(_ server: TestDNSServer, anchored: Bool = false, timeout: Duration = .seconds(20),
                         concurrency: Int = 128, waiting: Int = 10_000) throws -> UnboundResolver {
        var configuration = UnboundResolver.Configuration(servers: [server.server], trustAnchorFile: anchored ? server.trustAnchorFile : nil,
                                                          timeout: timeout)
        configuration.maxConcurrentQueries = concurrency
        configuration.maxWaitingQueries = waiting
        return try UnboundResolver(configuration: configuration)
    }
}

/// A UDP socket on 127.0.0.1 that receives queries and never answers.
final class SilentDNSServer: Sendable {
    let fd: Int32
    let port: Int
    var server: String { "127.0.0.1@\(port)" }

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        guard bound == 0 else { close(fd); throw TestDNSServer.Failure(description: "cannot bind a UDP socket") }
        self.fd = fd
        port = Int(UInt16(bigEndian: addr.sin_port))
    }

    func resolver(timeout: Duration = .seconds(1), concurrency: Int = 128, waiting: Int = 10_000) throws -> UnboundResolver {
        var configuration = UnboundResolver.Configuration(servers: [server], timeout: timeout)
        configuration.maxConcurrentQueries = concurrency
        configuration.maxWaitingQueries = waiting
        return try UnboundResolver(configuration: configuration)
    }

    deinit { close(fd) }
}

func name(_ text: String) -> DNSName { try! DNSName(text) }

/// The DNSError `body` throws (nil when it throws none, or another error).
func dnsError<T>(_ body: () async throws -> T) async -> DNSError? {
    do {
        _ = try await body()
        return nil
    } catch {
        return error as? DNSError
    }
}
