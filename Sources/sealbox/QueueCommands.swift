import ArgumentParser
import Foundation
import MailCore
import MailStore
import SealboxApp

struct QueueCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "queue",
        abstract: "What waits: sealed mail for locked mailboxes, and forwards and webhooks to send.",
        subcommands: [List.self, Retry.self, Delete.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the queues (no message content; webhook URLs by host only, they may hold tokens).")
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            try await runReportingErrors {
                let node = try await openNode(global)
                let listing = try await SealboxAdmin.queueListing(node: node)
                if listing.sealed.isEmpty && listing.outbound.isEmpty { emit("nothing queued"); return }
                if !listing.sealed.isEmpty {
                    emit("sealed, waiting for the mailbox's next login:")
                    for s in listing.sealed {
                        emit("  \(s.mailbox)  \(s.count) message\(s.count == 1 ? "" : "s"), "
                              + "\(ByteSize.format(s.bytes)), oldest \(s.oldest.formatted(.iso8601))")
                    }
                }
                if !listing.outbound.isEmpty {
                    emit("outbound:")
                    for job in listing.outbound {
                        var line = "  #\(job.id)  \(job.target)  queued \(job.created.formatted(.iso8601))  attempts \(job.attempts)"
                            + "  next \(job.nextAttempt.formatted(.iso8601))"
                        if let error = job.lastError { line += "  last error: \(error)" }
                        emit(line)
                    }
                }
            }
        }
    }

    struct Retry: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make every forward and webhook due now (beside a running server, it sends them at once).")
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            try await runReportingErrors {
                let node = try await openNode(global)
                let n = try await SealboxAdmin.retryQueue(node: node)
                emit("\(n) outbound job\(n == 1 ? "" : "s") due now")
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete outbound jobs by number (#N in `queue list`): nothing more is sent for them, and no bounce.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Job numbers, as `queue list` shows them (with or without #).") var jobs: [String]

        func run() async throws {
            try await runReportingErrors {
                let ids = try jobs.map { text -> Int64 in
                    guard let id = Int64(text.hasPrefix("#") ? String(text.dropFirst()) : text), id > 0 else {
                        throw CLIFailure("\(text) is not a job number (see sealbox queue list)")
                    }
                    return id
                }
                let node = try await openNode(global)
                let existing = Set(try await node.queue.outboundJobs().map(\.id))
                // All or nothing: an unknown number deletes none.
                if let unknown = ids.first(where: { !existing.contains($0) }) { throw CLIFailure("no outbound job #\(unknown)") }
                for id in ids {
                    try await node.queue.finish(jobID: id, replacement: nil)
                    emit("deleted #\(id)")
                }
            }
        }
    }
}
