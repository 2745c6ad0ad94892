import Foundation
import Logging
@testable import MailNet
import NIOCore
import NIOPosix
import NIOSSL
import ServiceLifecycle
import Synchronization
import Testing

/// Reads the plaintext ServerHello off the wire (in front of the client's TLS handler) and records
/// the key-share group the server chose.
final class ServerHelloSniffer: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    let group = Mutex<UInt16?>(nil)
    let seen = Mutex<[UInt8]>([])

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        seen.withLock { bytes in
            if bytes.count < 4096 { bytes.append(contentsOf: buffer.readableBytesView) }
            if group.withLock({ $0 }) == nil, let g = Self.keyShareGroup(bytes) { group.withLock { $0 = g } }
        }
        context.fireChannelRead(data)
    }

    /// TLS record (22) → ServerHello (2) → extensions → key_share (51) → group.
    static func keyShareGroup(_ b: [UInt8]) -> UInt16? {
        guard b.count > 5 + 4 + 2 + 32 + 1, b[0] == 22, b[5] == 2 else { return nil }
        var i = 5 + 4 + 2 + 32
        let sessionIDLength = Int(b[i]); i += 1 + sessionIDLength
        i += 2 + 1  // cipher suite, compression
        guard i + 2 <= b.count else { return nil }
        let end = i + 2 + (Int(b[i]) << 8 | Int(b[i + 1])); i += 2
        while i + 4 <= min(end, b.count) {
            let type = Int(b[i]) << 8 | Int(b[i + 1]), length = Int(b[i + 2]) << 8 | Int(b[i + 3])
            if type == 51, i + 6 <= b.count { return UInt16(b[i + 4]) << 8 | UInt16(b[i + 5]) }
            i += 4 + length
        }
        return nil
    }
}

@Suite("MailNet")
struct MailNetTests {
    static func tempDir() -> String {
        let dir = NSTemporaryDirectory() + "mailnet-" + UUID().uuidString
        try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    /// An echo listener: each line back, prefixed; "bye" ends the session.
    static func echoListener(_ configuration: MailListener<ByteBuffer>.Configuration, bound: @escaping @Sendable (SocketAddress) -> Void,
                             onShutdownSay: String? = nil) -> MailListener<ByteBuffer> {
        MailListener<ByteBuffer>(configuration: configuration, logger: Logger(label: "test"), onBound: bound,
                                 childChannelInitializer: { _ in }) { connection in
            try await withGracefulShutdownHandler {
                for try await var chunk in connection.inbound {
                    let text = chunk.readString(length: chunk.readableBytes) ?? ""
                    try await connection.outbound.write(ByteBuffer(string: "echo:" + text))
                    if text.contains("boom") { throw CancellationError() }
                }
            } onGracefulShutdown: {
                if let onShutdownSay {
                    connection.channel.writeAndFlush(ByteBuffer(string: onShutdownSay), promise: nil)
                }
            }
        }
    }

    /// Runs `listener` in a ServiceGroup, waits for its port, runs `body`, then shuts it down gracefully.
    static func withListener(_ make: (@escaping @Sendable (SocketAddress) -> Void) -> MailListener<ByteBuffer>,
                             body: (Int) async throws -> Void) async throws {
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let listener = make { address in continuation.yield(address.port ?? 0) }
        let group = ServiceGroup(configuration: .init(services: [.init(service: listener)], logger: Logger(label: "test")))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next() else { return }
            try await body(port)
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }

    static func connect(_ port: Int, tls: NIOSSLContext? = nil, sniffer: ServerHelloSniffer? = nil) async throws -> NIOAsyncChannel<ByteBuffer, ByteBuffer> {
        try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton).connect(host: "127.0.0.1", port: port) { channel in
            channel.eventLoop.makeCompletedFuture {
                if let sniffer { try channel.pipeline.syncOperations.addHandler(sniffer) }
                if let tls { try channel.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: tls, serverHostname: "localhost")) }
                return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
            }
        }
    }

    static func exchange(_ client: NIOAsyncChannel<ByteBuffer, ByteBuffer>, _ text: String) async throws -> String {
        try await client.executeThenClose { inbound, outbound in
            try await outbound.write(ByteBuffer(string: text))
            var it = inbound.makeAsyncIterator()
            var got = ""
            while !got.contains(text), let chunk = try await it.next() { got += String(buffer: chunk) }
            return got
        }
    }

    static func clientTLS(trusting dataDirectory: String, min: TLSVersion = .tlsv12, max: TLSVersion = .tlsv13) throws -> NIOSSLContext {
        var c = TLSConfiguration.makeClientConfiguration()
        c.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(ServerTLS.selfSignedPaths(dataDirectory: dataDirectory).certificate))
        c.minimumTLSVersion = min
        c.maximumTLSVersion = max
        return try NIOSSLContext(configuration: c)
    }

    @Test("a port already in use is one clear error naming the service, the address and the setting")
    func bindFailure() async throws {
        let configuration = MailListener<ByteBuffer>.Configuration(name: "pop3", host: "127.0.0.1", port: 0)
        try await Self.withListener({ Self.echoListener(configuration, bound: $0) }) { port in
            let second = Self.echoListener(.init(name: "pop3", host: "127.0.0.1", port: port), bound: { _ in })
            await #expect { try await second.run() } throws: { error in
                "\(error)" == "cannot listen for pop3 on 127.0.0.1:\(port): address already in use; another server is using it: "
                    + "change pop3.port or set pop3.enabled to false"
            }
        }
    }

    @Test("echo over plain TCP; one session's error does not stop the listener; per-IP limit")
    func plainAndLimits() async throws {
        var configuration = MailListener<ByteBuffer>.Configuration(name: "t", host: "127.0.0.1", port: 0, maxConnectionsPerIP: 1,
                                                                   refusal: ByteBuffer(string: "* BYE Too many connections\r\n"))
        configuration.shutdownGracePeriod = .seconds(2)
        try await Self.withListener({ Self.echoListener(configuration, bound: $0) }) { port in
            #expect(try await Self.exchange(try await Self.connect(port), "boom\n") == "echo:boom\n")
            #expect(try await Self.exchange(try await Self.connect(port), "hello\n") == "echo:hello\n")
            // With one connection open, a second from the same IP is refused with the refusal line.
            // The two connections just closed may not be released yet (then `first` itself is
            // refused): retry, bounded, until `first` is served. The second's read is bounded too,
            // so a race can fail the test but never hang the run.
            var attempts = 0
            while true {
                let first = try await Self.connect(port)
                let served = try await first.executeThenClose { inbound, outbound -> Bool in
                    try await outbound.write(ByteBuffer(string: "hold\n"))
                    var it = inbound.makeAsyncIterator()
                    guard let reply = try await it.next(), String(buffer: reply) == "echo:hold\n" else { return false }
                    let second = try await Self.connect(port)
                    let refused = try await second.executeThenClose { inbound, _ in
                        try await withThrowingTaskGroup(of: String?.self) { group in
                            group.addTask {
                                var text = ""
                                for try await chunk in inbound { text += String(buffer: chunk) }
                                return text
                            }
                            group.addTask { try await Task.sleep(for: .seconds(20)); second.channel.close(promise: nil); return nil }
                            let first = try await group.next() ?? nil
                            group.cancelAll()
                            return first
                        }
                    }
                    #expect(refused == "* BYE Too many connections\r\n")
                    return true
                }
                if served { break }
                attempts += 1
                try #require(attempts < 50, "the first connection was never served")
                try await Task.sleep(for: .milliseconds(100))
            }
        }
    }

    @Test("implicit TLS: TLS 1.3 with X25519MLKEM768, TLS 1.2 still works, TLS 1.1 refused; the self-signed certificate is kept")
    func tls() async throws {
        let dir = Self.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let context = try ServerTLS.makeContext(certificatePath: nil, keyPath: nil, dataDirectory: dir, hostnames: ["localhost", "127.0.0.1"])
        let fingerprint = ServerTLS.fingerprint(certificatePath: nil, dataDirectory: dir)
        #expect(fingerprint != nil)
        let keyMode = try FileManager.default.attributesOfItem(atPath: dir + "/tls/key.pem")[.posixPermissions] as? Int
        #expect(keyMode == 0o600)
        _ = try ServerTLS.makeContext(certificatePath: nil, keyPath: nil, dataDirectory: dir, hostnames: ["localhost"])
        #expect(ServerTLS.fingerprint(certificatePath: nil, dataDirectory: dir) == fingerprint, "made once, then kept")

        let configuration = MailListener<ByteBuffer>.Configuration(name: "tls", host: "127.0.0.1", port: 0, implicitTLS: context)
        try await Self.withListener({ Self.echoListener(configuration, bound: $0) }) { port in
            let sniffer = ServerHelloSniffer()
            let client = try await Self.connect(port, tls: try Self.clientTLS(trusting: dir), sniffer: sniffer)
            #expect(try await Self.exchange(client, "secure\n") == "echo:secure\n")
            #expect(sniffer.group.withLock { $0 } == 0x11EC, "X25519MLKEM768 is group 0x11EC")

            let tls12 = try await Self.connect(port, tls: try Self.clientTLS(trusting: dir, min: .tlsv12, max: .tlsv12))
            #expect(try await Self.exchange(tls12, "old\n") == "echo:old\n")

            let tls11 = try await Self.connect(port, tls: try Self.clientTLS(trusting: dir, min: .tlsv1, max: .tlsv11))
            await #expect(throws: (any Error).self) { _ = try await Self.exchange(tls11, "older\n") }
        }
    }

    @Test("graceful shutdown: sessions hear of it and run() returns")
    func gracefulShutdown() async throws {
        var configuration = MailListener<ByteBuffer>.Configuration(name: "g", host: "127.0.0.1", port: 0)
        configuration.shutdownGracePeriod = .seconds(5)
        let said = Mutex("")
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let listener = Self.echoListener(configuration, bound: { continuation.yield($0.port ?? 0) }, onShutdownSay: "* BYE shutting down\r\n")
        let group = ServiceGroup(configuration: .init(services: [.init(service: listener)], logger: Logger(label: "test")))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var iterator = ports.makeAsyncIterator()
            let port = await iterator.next()!
            let client = try await Self.connect(port)
            try await client.executeThenClose { inbound, outbound in
                try await outbound.write(ByteBuffer(string: "hi\n"))
                var it = inbound.makeAsyncIterator()
                _ = try await it.next()
                await group.triggerGracefulShutdown()
                while let chunk = try await it.next() { said.withLock { $0 += String(buffer: chunk) } }
            }
            try await tasks.waitForAll()
        }
        #expect(said.withLock { $0 }.contains("* BYE shutting down"))
    }

    @Test("login throttle: same delay for every failure, IP and account refusal, success clears, bounded memory")
    func throttle() async {
        let clock = Mutex(ContinuousClock.now)
        var policy = AuthThrottle.Policy()
        policy.maxFailuresPerIP = 3
        policy.maxFailuresPerAccount = 5
        policy.maxTracked = 100
        let t = AuthThrottle(policy: policy, now: { clock.withLock { $0 } })
        #expect(await t.check(ip: "1.1.1.1", account: "a") == .allowed)
        let delay = await t.recordFailure(ip: "1.1.1.1", account: "a")
        #expect(delay >= .seconds(1) && delay <= .milliseconds(1250))
        _ = await t.recordFailure(ip: "1.1.1.1", account: "b")
        _ = await t.recordFailure(ip: "1.1.1.1", account: "c")
        guard case .refused = await t.check(ip: "1.1.1.1", account: "z") else { Issue.record("IP not refused"); return }
        #expect(await t.check(ip: "2.2.2.2", account: "z") == .allowed)
        // Account spraying from many IPs locks the account, except for an IP that logged in before.
        await t.recordSuccess(ip: "9.9.9.9", account: "victim")
        for i in 0..<5 { _ = await t.recordFailure(ip: "10.0.0.\(i)", account: "victim") }
        guard case .refused = await t.check(ip: "3.3.3.3", account: "victim") else { Issue.record("account not refused"); return }
        #expect(await t.check(ip: "9.9.9.9", account: "victim") == .allowed)
        // The window passes.
        clock.withLock { $0 = $0 + .seconds(16 * 60) }
        #expect(await t.check(ip: "1.1.1.1", account: "z") == .allowed)
        for i in 0..<1000 { _ = await t.recordFailure(ip: "172.16.\(i / 256).\(i % 256)", account: "u\(i)") }
        #expect(await t.trackedCount <= 200)
    }

    @Test("login throttle: logins in flight count as failures, but not those of an IP that logged in to the account before")
    func throttleInFlight() async {
        var policy = AuthThrottle.Policy()
        policy.maxFailuresPerIP = 3
        let t = AuthThrottle(policy: policy)
        // A stranger's parallel attempts: the fourth in flight is refused before any is answered.
        for _ in 0..<3 { #expect(await t.beginAttempt(ip: "5.5.5.5", account: "x") == .allowed) }
        guard case .refused = await t.beginAttempt(ip: "5.5.5.5", account: "y") else { Issue.record("4th attempt in flight allowed"); return }
        for _ in 0..<3 { await t.endAttempt(ip: "5.5.5.5", account: "x") }
        // 50 connections of a client that logged in before, at once (a benchmark, a reconnecting office).
        await t.recordSuccess(ip: "6.6.6.6", account: "user")
        for _ in 0..<50 { #expect(await t.beginAttempt(ip: "6.6.6.6", account: "user") == .allowed) }
        // Another account from that IP is still held to the budget while those are in flight.
        guard case .refused = await t.beginAttempt(ip: "6.6.6.6", account: "other") else { Issue.record("stranger allowed"); return }
        for _ in 0..<50 { await t.recordSuccess(ip: "6.6.6.6", account: "user") }
        #expect(await t.beginAttempt(ip: "6.6.6.6", account: "other") == .allowed)
    }
}
