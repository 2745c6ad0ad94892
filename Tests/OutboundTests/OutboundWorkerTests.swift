import Foundation
import Logging
import MailboxAPI
@testable import Outbound
import Synchronization
import Testing

/// The job store in memory: the worker's retry, bounce and give-up decisions without a queue database.
final class MemoryJobStore: OutboundJobStore {
    let jobs = Mutex<[OutboundJob]>([])
    let events = Mutex<[String]>([])
    private let nextID = Atomic<Int64>(1)

    func add(_ job: OutboundJob) {
        var job = job
        job.id = nextID.wrappingAdd(1, ordering: .relaxed).oldValue
        jobs.withLock { $0.append(job) }
    }
    func dueJobs(now: Date, limit: Int) async throws -> [OutboundJob] {
        jobs.withLock { Array($0.filter { $0.nextAttempt <= now }.prefix(limit)) }
    }
    func outboundJobs() async throws -> [OutboundJob] { jobs.withLock { $0 } }
    func nextJobDue() async throws -> Date? { jobs.withLock { $0.map(\.nextAttempt).min() } }
    func reschedule(jobID: Int64, nextAttempt: Date, error: String, remainingRecipients: [String]?) async throws {
        events.withLock { $0.append("reschedule \(jobID): \(error)") }
        jobs.withLock { all in
            guard let i = all.firstIndex(where: { $0.id == jobID }) else { return }
            all[i].attempts += 1; all[i].nextAttempt = nextAttempt; all[i].lastError = error
            if let remainingRecipients { all[i].recipients = remainingRecipients }
        }
    }
    func finish(jobID: Int64, replacement: OutboundJob?) async throws {
        events.withLock { $0.append("finish \(jobID)" + (replacement == nil ? "" : " with a bounce")) }
        jobs.withLock { $0.removeAll { $0.id == jobID } }
        if let replacement { add(replacement) }
    }
    func enqueue(_ jobs: [OutboundJob]) async throws { for job in jobs { add(job) } }
}

@Suite("OutboundWorker over an in-memory job store")
struct OutboundWorkerTests {
    static func worker(_ store: MemoryJobStore, maxAge: Duration = .seconds(3600)) -> OutboundWorker {
        let settings = OutboundWorker.Settings(relay: nil, hostname: "mx.example", webhookSecret: Array("secret".utf8),
                                               webhookIncludeRaw: false, retryInterval: .seconds(60),
                                               maxRetryInterval: .seconds(3600), maxAge: maxAge)
        return OutboundWorker(queue: store, settings: settings, srs: SRS(secret: Array("srs".utf8), domain: "mx.example"),
                              logger: Logger(label: "test"))
    }

    static let message = Array("From: a@b.example\r\nSubject: hi\r\n\r\nbody\r\n".utf8)

    @Test("a forward with no smarthost waits with backoff, then bounces to its sender once it is too old")
    func noRelay() async throws {
        let store = MemoryJobStore()
        store.add(OutboundJob(kind: .smtp, sender: "SRS0=x@mx.example", originalSender: "sender@origin.example",
                              recipients: ["far@away.example"], message: Self.message))
        let http = OutboundWorker.makeHTTPClient()
        defer { _ = http.shutdown() }
        #expect(try await Self.worker(store).runDueJobs(http: http) == 1)
        let waiting = try await store.outboundJobs()
        #expect(waiting.count == 1 && waiting[0].attempts == 1 && waiting[0].nextAttempt > Date().addingTimeInterval(50))
        #expect(try await Self.worker(store).runDueJobs(http: http) == 0)  // not due yet

        let old = MemoryJobStore()
        old.add(OutboundJob(kind: .smtp, sender: "SRS0=x@mx.example", originalSender: "sender@origin.example",
                            recipients: ["far@away.example"], message: Self.message, created: Date().addingTimeInterval(-7200)))
        _ = try await Self.worker(old).runDueJobs(http: http)
        let bounce = try #require(try await old.outboundJobs().first)
        #expect(bounce.kind == .smtp && bounce.sender == "" && bounce.recipients == ["sender@origin.example"])
        let text = String(decoding: bounce.message, as: UTF8.self)
        #expect(text.contains("multipart/report") && text.contains("far@away.example") && text.contains("4.4.1"))
        #expect(old.events.withLock { $0 } == ["finish 1 with a bounce"])
    }

    @Test("a webhook whose receiver refuses connections is retried later; one gone too long is dropped, not bounced")
    func webhookDown() async throws {
        let store = MemoryJobStore()
        let job = OutboundJob(kind: .webhook, sender: "sender@origin.example", originalSender: "sender@origin.example",
                              recipients: ["hook@mx.example"], target: "http://127.0.0.1:1/hook", message: Self.message)
        store.add(job)
        let http = OutboundWorker.makeHTTPClient()
        defer { _ = http.shutdown() }
        _ = try await Self.worker(store).runDueJobs(http: http)
        #expect(try await store.outboundJobs().first?.attempts == 1)

        let old = MemoryJobStore()
        var stale = job
        stale.created = Date().addingTimeInterval(-7200)
        old.add(stale)
        _ = try await Self.worker(old).runDueJobs(http: http)
        #expect(try await old.outboundJobs().isEmpty)
        #expect(old.events.withLock { $0 } == ["finish 1"])
    }

    @Test("a submitted message with no route waits, even past outbound.maxAge: never bounced, never dropped; a route plugged in sends it")
    func submissionWithoutRoute() async throws {
        let store = MemoryJobStore()
        store.add(OutboundJob(kind: .smtp, sender: "me@mx.example", originalSender: "me@mx.example", recipients: ["far@away.example"],
                              context: ["queueID": "Q1", "submittedBy": "me@mx.example"], message: Self.message,
                              created: Date().addingTimeInterval(-7200)))
        let http = OutboundWorker.makeHTTPClient()
        defer { _ = http.shutdown() }
        #expect(try await Self.worker(store).runDueJobs(http: http) == 1)
        let waiting = try #require(try await store.outboundJobs().first)
        #expect(waiting.attempts == 1 && waiting.lastError == OutboundWorker.noRouteReason && waiting.recipients == ["far@away.example"])
        #expect(store.events.withLock { $0 }.allSatisfy { !$0.hasPrefix("finish") })

        // The seam: a route given as `directRoute` is used when there is no smarthost.
        final class RecordingRoute: OutboundRoute {
            let sent = Mutex<[String]>([])
            var name: String { "test" }
            func send(from: String, recipients: [String], message: [UInt8]) async throws -> [String: SMTPRelayClient.RecipientResult] {
                sent.withLock { $0 += recipients }
                return Dictionary(uniqueKeysWithValues: recipients.map { ($0, .accepted) })
            }
        }
        let route = RecordingRoute()
        var settings = OutboundWorker.Settings(relay: nil, hostname: "mx.example", webhookSecret: Array("secret".utf8),
                                               webhookIncludeRaw: false, retryInterval: .seconds(60), maxRetryInterval: .seconds(3600),
                                               maxAge: .seconds(3600))
        settings.directRoute = route
        let due = MemoryJobStore()
        var job = waiting
        job.nextAttempt = Date()
        due.add(job)
        let worker = OutboundWorker(queue: due, settings: settings, srs: SRS(secret: Array("srs".utf8), domain: "mx.example"),
                                    logger: Logger(label: "test"))
        #expect(try await worker.runDueJobs(http: http) == 1)
        let left = try await due.outboundJobs()
        #expect(route.sent.withLock { $0 } == ["far@away.example"] && left.isEmpty)
    }
}
