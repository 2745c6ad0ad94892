import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// An authoritative DNS server for the tests: Debian's nsd on 127.0.0.1 and a free port, serving
/// zones given as zone-file text. A zone may be DNSSEC-signed at start with fresh keys (ldnsutils:
/// `ldns-keygen`, `ldns-signzone`; nothing is committed); `trustAnchorFile` then holds the DS
/// records of the signed zones, for a resolver's `dns.trustAnchor`. `tamper` edits a signed zone
/// after signing (its signatures then fail: the answers are bogus). Point a resolver at `server`
/// (`127.0.0.1@PORT`, a `dns.servers` value). Stopped by `stop()` or when released.
public final class TestDNSServer: @unchecked Sendable {
    // @unchecked: every property is set in init and only read afterwards.
    public struct Zone: Sendable {
        /// The zone's name, e.g. `plain.example`.
        public var origin: String
        /// Zone-file lines, names relative to the origin; the SOA (negative TTL 60 s), the NS and
        /// `$TTL 300` are added.
        public var records: String
        public var signed: Bool
        /// Text replacements made in the signed zone file after signing.
        public var tamper: [(from: String, to: String)]

        public init(_ origin: String, signed: Bool = false, tamper: [(from: String, to: String)] = [], records: String) {
            self.origin = origin; self.records = records; self.signed = signed; self.tamper = tamper
        }
    }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
        public init(description: String) { self.description = description }
    }

    public let port: Int
    public let directory: String
    /// DS records of the signed zones (nil when none is signed).
    public let trustAnchorFile: String?
    private let process: ChildHandle

    /// `ADDRESS@PORT`, as `dns.servers` takes it.
    public var server: String { "127.0.0.1@\(port)" }

    public static var nsdPath: String { FileManager.default.isExecutableFile(atPath: "/usr/sbin/nsd") ? "/usr/sbin/nsd" : "nsd" }

    /// Whether nsd and ldns-signzone are installed (scripts/setup-test-deps.sh installs them).
    public static var isAvailable: Bool {
        FileManager.default.isExecutableFile(atPath: nsdPath) && FileManager.default.isExecutableFile(atPath: "/usr/bin/ldns-signzone")
    }

    public init(zones: [Zone]) async throws {
        directory = NSTemporaryDirectory() + "sealbox-dns-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var anchors: [String] = []
        var zoneConfig = ""
        for zone in zones {
            // The root zone (".") too: a server whose root is unsigned, as a resolver that strips DNSSEC leaves it.
            let absolute = zone.origin == "." ? "." : zone.origin + "."
            let under = zone.origin == "." ? "." : "." + zone.origin + "."  // ns<under>, hostmaster<under>
            let file = zone.origin == "." ? "root.zone" : "\(zone.origin).zone"
            let text = """
                $ORIGIN \(absolute)
                $TTL 300
                @ IN SOA ns\(under) hostmaster\(under) 1 3600 600 86400 60
                @ IN NS ns\(under)
                ns IN A 127.0.0.1
                \(zone.records)

                """
            try text.write(toFile: directory + "/" + file, atomically: true, encoding: .utf8)
            var served = file
            if zone.signed {
                anchors.append(try await Self.sign(zone, file: file, in: directory))
                served = file + ".signed"
            }
            zoneConfig += "zone:\n  name: \"\(zone.origin)\"\n  zonefile: \"\(directory)/\(served)\"\n"
        }
        if anchors.isEmpty {
            trustAnchorFile = nil
        } else {
            let path = directory + "/trust-anchor.ds"
            try anchors.joined(separator: "\n").appending("\n").write(toFile: path, atomically: true, encoding: .utf8)
            trustAnchorFile = path
        }

        // A free port can be taken between our probe and nsd's bind: a few attempts.
        for _ in 0..<5 {
            let port = MotoServer.freePort()
            let config = """
                server:
                  ip-address: 127.0.0.1@\(port)
                  username: ""
                  chroot: ""
                  zonesdir: "\(directory)"
                  database: ""
                  zonelistfile: "\(directory)/zone.list"
                  xfrdfile: "\(directory)/xfrd.state"
                  xfrdir: "\(directory)"
                  pidfile: "\(directory)/nsd.pid"
                  logfile: "\(directory)/nsd.log"
                  server-count: 1
                  verbosity: 1
                  hide-version: yes
                remote-control:
                  control-enable: no
                \(zoneConfig)
                """
            try config.write(toFile: directory + "/nsd.conf", atomically: true, encoding: .utf8)
            let handle = try ChildHandle(Self.nsdPath, ["-d", "-c", directory + "/nsd.conf"])
            let deadline = ContinuousClock.now + .seconds(20)
            while ContinuousClock.now < deadline, handle.isRunning, !MotoServer.accepts(port) {
                try await Task.sleep(for: .milliseconds(20))
            }
            if handle.isRunning, MotoServer.accepts(port) {
                self.port = port
                process = handle
                return
            }
            kill(-handle.processIdentifier, SIGKILL)
            handle.kill9()
        }
        let log = (try? String(contentsOfFile: directory + "/nsd.log", encoding: .utf8)) ?? ""
        throw Failure(description: "nsd did not start: \(log.suffix(1000))")
    }

    /// Makes a key-signing and a zone-signing key (ECDSA P-256), signs the zone file, applies the
    /// zone's tampering, returns the KSK's DS record.
    private static func sign(_ zone: Zone, file: String, in directory: String) async throws -> String {
        func run(_ tool: String, _ args: [String]) async throws -> String {
            let r = try await ChildProcess.run(tool, args, directory: directory, timeout: .seconds(60))
            guard r.ok else { throw Failure(description: "\(tool) \(args.joined(separator: " ")) failed: \(r.stderr)") }
            return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let ksk = try await run("ldns-keygen", ["-a", "ECDSAP256SHA256", "-k", zone.origin])
        let zsk = try await run("ldns-keygen", ["-a", "ECDSAP256SHA256", zone.origin])
        _ = try await run("ldns-signzone", [file, zsk, ksk])
        if !zone.tamper.isEmpty {
            let path = directory + "/" + file + ".signed"
            var text = try String(contentsOfFile: path, encoding: .utf8)
            for edit in zone.tamper {
                guard text.contains(edit.from) else { throw Failure(description: "tamper: \(edit.from) is not in the signed zone") }
                text = text.replacingOccurrences(of: edit.from, with: edit.to)
            }
            try text.write(toFile: path, atomically: true, encoding: .utf8)
        }
        return try String(contentsOfFile: directory + "/" + ksk + ".ds", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// SIGTERM to nsd and its children (its process group), then SIGKILL if it lingers; removes the files.
    public func stop() {
        if process.isRunning {
            kill(-process.processIdentifier, SIGTERM)
            for _ in 0..<500 where process.isRunning { usleep(10_000) }
            if process.isRunning { kill(-process.processIdentifier, SIGKILL); process.kill9() }
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(atPath: directory)
    }

    deinit { stop() }
}
