import CUnbound
import DNSCore
import Foundation
import Logging
import Synchronization

/// libunbound's context driven from one thread of ours.
///
/// Every `ub_*` call on the context after it is made happens on the engine's thread
/// (`sealbox-dns`): submitting (`ub_resolve_async`), cancelling (`ub_cancel`), collecting
/// (`ub_process`, which runs the callbacks) and deleting it. Callers only append to `waiting` or
/// `cancelled` under the mutex and wake the thread through a pipe; each caller's continuation is
/// resumed exactly once by `UnboundQuery.finish`, whichever of answer, timeout, cancellation or
/// shutdown comes first. libunbound runs in its threaded mode (`ub_ctx_async(ctx, 1)`): it resolves
/// on a thread of its own and signals answers on `ub_fd`.
final class UnboundEngine: Sendable {
    private let context: ContextHandle
    private let wakeRead: Int32
    private let wakeWrite: Int32
    private let timeout: Duration
    private let maxConcurrent: Int
    private let maxWaiting: Int
    private let logger: Logger
    private let state = Mutex(State())

    private struct State {
        /// Submitted, not yet handed to unbound (FIFO).
        var waiting: [UnboundQuery] = []
        var cancelled: [UnboundQuery] = []
        /// Queries with unbound, as the engine's thread last counted them (it may be a little high,
        /// never low: the overload check errs on refusing).
        var activeCount = 0
        var stopping = false
        /// The wake-up pipe is closed: its descriptors may belong to someone else now.
        var pipeClosed = false
    }

    /// The `ub_ctx*`. @unchecked: after `init` it is used only on the engine's thread (see above).
    private struct ContextHandle: @unchecked Sendable {
        let pointer: OpaquePointer
    }

    init(configuration: UnboundResolver.Configuration, logger: Logger) throws {
        guard let ctx = ub_ctx_create() else { throw UnboundResolver.ConfigurationError(description: "libunbound: cannot create a context") }
        func check(_ rc: Int32, _ what: String) throws {
            guard rc == 0 else {
                ub_ctx_delete(ctx)
                throw UnboundResolver.ConfigurationError(description: "libunbound: \(what): \(String(cString: ub_strerror(rc)))")
            }
        }
        try check(ub_ctx_async(ctx, 1), "threaded mode")
        // Forwarders on loopback (a local unbound, systemd-resolved, the tests' server) are normal here.
        try check(ub_ctx_set_option(ctx, "do-not-query-localhost:", "no"), "do-not-query-localhost")
        if configuration.servers.isEmpty {
            let rc = ub_ctx_resolvconf(ctx, configuration.resolvConfPath)
            if rc != 0 {
                logger.warning("dns: cannot read the nameservers of \(configuration.resolvConfPath); resolving from the root servers",
                               metadata: ["dns.error": "\(String(cString: ub_strerror(rc)))"])
            }
        } else {
            for server in configuration.servers { try check(ub_ctx_set_fwd(ctx, server), "forwarder \(server)") }
        }
        if let file = configuration.trustAnchorFile { try check(ub_ctx_add_ta_file(ctx, file), "trust anchor \(file)") }

        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else {
            ub_ctx_delete(ctx)
            throw UnboundResolver.ConfigurationError(description: "dns: cannot make a pipe: \(String(cString: strerror(errno)))")
        }
        for fd in fds {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
        context = ContextHandle(pointer: ctx)
        wakeRead = fds[0]
        wakeWrite = fds[1]
        timeout = configuration.timeout
        maxConcurrent = configuration.maxConcurrentQueries
        maxWaiting = configuration.maxWaitingQueries
        self.logger = logger
        let thread = Thread { [self] in run() }
        thread.name = "sealbox-dns"
        thread.start()
    }

    // MARK: - Callers' side (any thread)

    func resolve(_ question: DNSQuestion) async throws -> DNSResolution {
        let query = UnboundQuery(name: question.name.absoluteText, type: question.type.rawValue, deadline: .now + timeout)
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                query.attach(continuation)
                submit(query)
            }
        } onCancel: {
            cancel(query)
        }
    }

    private func submit(_ query: UnboundQuery) {
        let refusal: (any Error)? = state.withLock { s in
            if s.stopping { return DNSError(.shutDown) }
            if query.isCancelled { return CancellationError() }
            if s.waiting.count + s.activeCount >= maxConcurrent + maxWaiting {
                return DNSError(.overloaded, reason: "\(s.activeCount) queries in flight, \(s.waiting.count) waiting")
            }
            s.waiting.append(query)
            return nil
        }
        if let refusal { query.finish(.failure(refusal)) } else { wake() }
    }

    private func cancel(_ query: UnboundQuery) {
        query.markCancelled()
        let removed = state.withLock { s -> Bool in
            if let i = s.waiting.firstIndex(where: { $0 === query }) {
                s.waiting.remove(at: i)
                return true
            }
            s.cancelled.append(query)
            return false
        }
        if removed { query.finish(.failure(CancellationError())) } else { wake() }
    }

    func shutdown() {
        let first = state.withLock { s -> Bool in
            defer { s.stopping = true }
            return !s.stopping
        }
        if first { wake() }
    }

    /// Under the lock, so that it never writes to the pipe after the thread has closed it.
    private func wake() {
        state.withLock { s in
            guard !s.pipeClosed else { return }
            var byte: UInt8 = 1
            _ = write(wakeWrite, &byte, 1)  // EAGAIN: a wake-up is already pending
        }
    }

    // MARK: - The engine's thread

    private func run() {
        let ctx = context.pointer
        let unboundFD = ub_fd(ctx)
        var active: [ObjectIdentifier: (query: UnboundQuery, id: Int32)] = [:]
        while true {
            let (incoming, cancels, stopping) = state.withLock { s in
                let room = max(0, maxConcurrent - active.count)
                let taken = Array(s.waiting.prefix(room))
                s.waiting.removeFirst(taken.count)
                s.activeCount = active.count + taken.count
                defer { s.cancelled = [] }
                return (taken, s.cancelled, s.stopping)
            }
            if stopping {
                for query in incoming { query.finish(.failure(DNSError(.shutDown))) }
                break
            }
            // Queries that end in this turn are resumed only after `activeCount` is lowered, so a caller
            // who asks again at once finds the slot free.
            var ended: [(UnboundQuery, Result<DNSResolution, any Error>)] = []
            for query in cancels {
                guard let entry = active.removeValue(forKey: ObjectIdentifier(query)) else { continue }
                ub_cancel(ctx, entry.id)  // its callback will not run
                ended.append((query, .failure(CancellationError())))
            }
            var now = ContinuousClock.now
            for query in incoming {
                if query.isCancelled { ended.append((query, .failure(CancellationError()))); continue }
                if query.deadline <= now { ended.append((query, .failure(DNSError(.timedOut)))); continue }
                var id: Int32 = 0
                // The query object stays alive in `active` until its callback has run or it is cancelled.
                let rc = ub_resolve_async(ctx, query.name, Int32(query.type), 1, Unmanaged.passUnretained(query).toOpaque(),
                                          { data, err, result in UnboundEngine.answered(data, err, result) }, &id)
                if rc == 0 {
                    active[ObjectIdentifier(query)] = (query, id)
                } else {
                    ended.append((query, .failure(DNSError(.resolverFailure, reason: "libunbound: \(String(cString: ub_strerror(rc)))"))))
                }
            }

            now = ContinuousClock.now
            for (key, entry) in active where entry.query.deadline <= now {
                ub_cancel(ctx, entry.id)
                active.removeValue(forKey: key)
                ended.append((entry.query, .failure(DNSError(.timedOut))))
            }
            let expired = state.withLock { s -> [UnboundQuery] in
                let gone = s.waiting.filter { $0.deadline <= now }
                if !gone.isEmpty { s.waiting.removeAll { $0.deadline <= now } }
                return gone
            }
            ended += expired.map { ($0, .failure(DNSError(.timedOut))) }

            // Sleep until unbound has answers, a caller wakes us, or the next deadline.
            let nextWaiting = state.withLock { s in
                s.activeCount = active.count
                return s.waiting.isEmpty || active.count >= maxConcurrent ? s.waiting.first?.deadline : now
            }
            for (query, result) in ended { query.finish(result) }
            let next = (active.values.map(\.query.deadline) + [nextWaiting].compactMap { $0 }).min()
            var waitMilliseconds: Int32 = -1
            if let next {
                let left = now.duration(to: next)
                waitMilliseconds = left <= .zero ? 0 : Int32(min(60_000, left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000 + 1))
            }
            var fds = [pollfd(fd: unboundFD, events: Int16(POLLIN), revents: 0), pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0)]
            let ready = poll(&fds, 2, waitMilliseconds)
            if ready < 0 && errno != EINTR {
                logger.error("dns: poll failed", metadata: ["dns.error": "\(String(cString: strerror(errno)))"])
            }
            if fds[1].revents != 0 {
                var sink = [UInt8](repeating: 0, count: 64)
                while read(wakeRead, &sink, sink.count) > 0 {}
            }
            if fds[0].revents != 0 {
                let rc = ub_process(ctx)
                if rc != 0 {
                    logger.error("dns: libunbound failed", metadata: ["dns.error": "\(String(cString: ub_strerror(rc)))"])
                    usleep(100_000)  // a broken pipe to unbound's thread stays readable: no hot loop
                }
                // The callbacks recorded answers; resume their callers once the slots are counted free.
                var answered: [UnboundQuery] = []
                for (key, entry) in active where entry.query.hasAnswer {
                    active.removeValue(forKey: key)
                    answered.append(entry.query)
                }
                let count = active.count
                state.withLock { $0.activeCount = count }
                for query in answered { query.deliverAnswer() }
            }
        }
        // Shutting down: every pending query fails, then the context goes (its callbacks never run after).
        for entry in active.values { entry.query.finish(.failure(DNSError(.shutDown))) }
        let left = state.withLock { s in
            defer { s.waiting = []; s.cancelled = [] }
            return s.waiting
        }
        for query in left { query.finish(.failure(DNSError(.shutDown))) }
        ub_ctx_delete(ctx)
        state.withLock { s in
            s.pipeClosed = true
            close(wakeRead)
            close(wakeWrite)
        }
    }

    /// libunbound's callback, run inside `ub_process` on the engine's thread.
    private static func answered(_ data: UnsafeMutableRawPointer?, _ err: Int32, _ result: UnsafeMutablePointer<ub_result>?) {
        defer { if let result { ub_resolve_free(result) } }
        guard let data else { return }
        let query = Unmanaged<UnboundQuery>.fromOpaque(data).takeUnretainedValue()
        guard err == 0, let result else {
            query.record(.failure(DNSError(.resolverFailure, reason: "libunbound: \(String(cString: ub_strerror(err)))")))
            return
        }
        query.record(.success(copy(result.pointee)))
    }

    /// The result out of C memory, at most one record past the limit (which then fails the answer).
    static func copy(_ r: ub_result) -> DNSResolution {
        var rdata: [[UInt8]] = []
        if let items = r.data, let lengths = r.len {
            var i = 0
            while i <= DNSLimits.maxRecordsPerAnswer, let item = items[i] {
                let count = min(max(Int(lengths[i]), 0), DNSLimits.maxRDataLength)
                rdata.append(Array(UnsafeRawBufferPointer(start: item, count: count)))
                i += 1
            }
        }
        return DNSResolution(rcode: Int(r.rcode), hasData: r.havedata != 0, nameDoesNotExist: r.nxdomain != 0,
                             secure: r.secure != 0, bogus: r.bogus != 0, whyBogus: r.why_bogus.map { String(cString: $0) },
                             ttl: Int(r.ttl), canonicalName: r.canonname.map { String(cString: $0) }, rdata: rdata)
    }
}

/// One question in flight: its caller's continuation, resumed once.
final class UnboundQuery: Sendable {
    let name: String
    let type: UInt16
    let deadline: ContinuousClock.Instant
    private let state = Mutex(State())

    private struct State {
        var continuation: CheckedContinuation<DNSResolution, any Error>?
        /// unbound's answer, recorded by the callback, delivered by the engine's thread after it.
        var answer: Result<DNSResolution, any Error>?
        var cancelled = false
        var finished = false
    }

    init(name: String, type: UInt16, deadline: ContinuousClock.Instant) {
        self.name = name; self.type = type; self.deadline = deadline
    }

    func attach(_ continuation: CheckedContinuation<DNSResolution, any Error>) {
        state.withLock { $0.continuation = continuation }
    }

    func markCancelled() { state.withLock { $0.cancelled = true } }
    var isCancelled: Bool { state.withLock { $0.cancelled } }
    var hasAnswer: Bool { state.withLock { $0.answer != nil } }

    func record(_ answer: Result<DNSResolution, any Error>) { state.withLock { $0.answer = answer } }

    /// Resumes the caller with the recorded answer.
    func deliverAnswer() {
        if let answer = state.withLock({ $0.answer }) { finish(answer) }
    }

    /// Resumes the caller, the first time only.
    func finish(_ result: Result<DNSResolution, any Error>) {
        let continuation = state.withLock { s -> CheckedContinuation<DNSResolution, any Error>? in
            guard !s.finished else { return nil }
            s.finished = true
            defer { s.continuation = nil }
            return s.continuation
        }
        continuation?.resume(with: result)
    }
}
