import MailCore
import NIOCore
import NIOSSL
import SMTPCore
import Synchronization

/// One client connection's I/O: commands out, replies in, each exchange under the command
/// timeout. Owned by the task that runs the transaction (not shared, so not Sendable).
final class SMTPConnection {
    let channel: any Channel
    private var inbound: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
    private let outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
    private let statistics: LineStatistics
    private let timeout: Duration
    private let redact: (String) -> String
    /// Reply lines taken from the stream so far (compared with what the decoder produced).
    private var linesRead = 0
    private var closed = false
    /// The step whose deadline closed the channel (nil: none did). A timer that fires just as its
    /// step completes closes the channel under the next step: that step's failure is this timeout.
    private let timedOut = TimeoutRecord()

    init(channel: any Channel, inbound: NIOAsyncChannelInboundStream<ByteBuffer>,
         outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>, statistics: LineStatistics, timeout: Duration,
         redact: @escaping (String) -> String) {
        self.channel = channel
        self.inbound = inbound.makeAsyncIterator()
        self.outbound = outbound
        self.statistics = statistics
        self.timeout = timeout
        self.redact = redact
    }

    /// Sends one command line and reads its reply. `secret`: the line carries credentials (it
    /// never reaches an error message).
    func command(_ line: String, during step: String, secret: Bool = false) async throws -> SMTPReply {
        try await write(line + "\r\n", verbs: step)
        return try await readReply(during: step)
    }

    func write(_ text: String, verbs: String) async throws {
        try await writeBytes(Array(text.utf8), during: verbs)
    }

    func writeBytes(_ bytes: [UInt8], during step: String) async throws {
        let buffer = channel.allocator.buffer(bytes: bytes)
        try await withDeadline(during: step, timeout: timeout) {
            try await self.outbound.write(buffer)
        }
    }

    /// One complete (possibly multi-line) reply.
    func readReply(during step: String, timeout: Duration? = nil) async throws -> SMTPReply {
        try await withDeadline(during: step, timeout: timeout ?? self.timeout) {
            var lines: [String] = []
            var code = 0
            while true {
                guard let buffer = try await self.inbound.next() else {
                    throw SMTPRelayClient.RelayError(permanent: false, code: nil,
                                                     description: "the server closed the connection during \(step)")
                }
                self.linesRead += 1
                let text = String(buffer: buffer)
                guard let line = SMTPReply.parseLine(text), lines.isEmpty || line.code == code else {
                    throw SMTPRelayClient.RelayError(
                        permanent: false, code: nil,
                        description: "malformed reply during \(step): \(self.redact(String(text.prefix(200))))")
                }
                code = line.code
                lines.append(line.text)
                if !line.more { return SMTPReply(code: code, received: lines) }
                guard lines.count < SMTPRelayClient.Limits.maxReplyLines else {
                    throw SMTPRelayClient.RelayError(permanent: false, code: nil,
                                                     description: "a reply of more than \(lines.count) lines during \(step)")
                }
            }
        }
    }

    /// Puts TLS under the line decoder after the server's "220" to STARTTLS. Refused when the
    /// server sent anything after that reply: such bytes were sent in clear and would otherwise be
    /// taken as the first reply over TLS.
    func startTLS(context: NIOSSLContext, serverHostname: String?,
                  certificateCheck: (@Sendable ([NIOSSLCertificate]) async -> Bool)? = nil) async throws {
        let consumed = linesRead
        let statistics = self.statistics
        let channel = self.channel
        let clean = try await channel.eventLoop.submit { () throws -> Bool in
            let seen = statistics.snapshot
            guard seen.emitted == consumed, seen.pending == 0 else { return false }
            let handler: NIOSSLClientHandler
            if let certificateCheck {
                // Replaces the CA check: DANE matches the certificates against TLSA records.
                handler = try NIOSSLClientHandler(context: context, serverHostname: serverHostname) { certificates, promise in
                    Task { promise.succeed(await certificateCheck(certificates) ? .certificateVerified : .failed) }
                }
            } else {
                handler = try NIOSSLClientHandler(context: context, serverHostname: serverHostname)
            }
            try channel.pipeline.syncOperations.addHandler(handler, position: .first)
            return true
        }.get()
        guard clean else {
            throw SMTPRelayClient.RelayError(permanent: false, code: nil,
                                             description: "the server sent data after its STARTTLS reply; connection dropped")
        }
    }

    /// QUIT, waiting briefly for the reply; errors are ignored (the work is done or already failed).
    func quitQuietly() async {
        guard !closed else { return }
        closed = true
        _ = try? await writeBytes(Array("QUIT\r\n".utf8), during: "QUIT")
        _ = try? await readReply(during: "QUIT", timeout: SMTPRelayClient.Limits.quitTimeout)
    }

    /// Runs `body`; when `timeout` passes first the channel is closed (which ends the read or write)
    /// and the error says which step timed out.
    private func withDeadline<T>(during step: String, timeout: Duration, _ body: () async throws -> T) async throws -> T {
        let channel = self.channel, timedOut = self.timedOut
        let task = channel.eventLoop.scheduleTask(in: SMTPRelayClient.timeAmount(timeout)) {
            timedOut.record(step: step, after: timeout)
            channel.close(promise: nil)
        }
        defer { task.cancel() }
        do {
            return try await body()
        } catch {
            if let (step, timeout) = timedOut.first {
                throw SMTPRelayClient.RelayError(permanent: false, code: nil,
                                                 description: "timed out after \(timeout) waiting during \(step)")
            }
            throw error
        }
    }
}

/// The first deadline of a connection that fired: its step and its time.
final class TimeoutRecord: Sendable {
    private let value = Mutex<(step: String, after: Duration)?>(nil)
    func record(step: String, after: Duration) { value.withLock { if $0 == nil { $0 = (step, after) } } }
    var first: (step: String, after: Duration)? { value.withLock { $0 } }
}

/// MailCore's dot-stuffer for DATA (RFC 5321 §4.5.2: a line that begins with "." gets another;
/// every line ends in CRLF; ".\r\n" ends the data), a piece at a time.
struct DataStuffer {
    private var stuffer = DotStuffer()

    mutating func feed(_ bytes: ArraySlice<UInt8>) -> [UInt8] {
        var out = [UInt8]()
        stuffer.feed(bytes, into: &out)
        return out
    }

    mutating func finish() -> [UInt8] {
        var out = [UInt8]()
        stuffer.finish(into: &out)
        return out
    }
}
