import ArgumentParser
import Dispatch
import Foundation
import SealboxApp

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve", abstract: "Run the Sealbox node with embedded defaults until SIGTERM or SIGINT.")
    @OptionGroup var global: GlobalOptions

    func run() async throws {
        try await runReportingErrors {
            let lock = try DataDirectoryLock(dataDirectory: global.dataDir)
            let node = try SealboxNode.open(dataDirectory: global.dataDir)
            let domains = try await node.directory.domains().count
            let aliases = try await node.directory.aliases(domain: nil).count
            printError("node ready: data directory \(node.dataDirectory), \(domains) domain(s), \(aliases) alias(es)")
            printError("protocol listeners (IMAP, POP3, SMTP) are not part of this build yet; stop with Ctrl-C")
            await waitForTermination()
            printError("shutting down")
            await node.shutdown()
            withExtendedLifetime(lock) {}
        }
    }

    /// Returns on SIGINT or SIGTERM.
    func waitForTermination() async {
        signal(SIGINT, SIG_IGN)
        signal(SIGTERM, SIG_IGN)
        let queue = DispatchQueue(label: "sealbox.signals")
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let once = Once()
            let sources = [SIGINT, SIGTERM].map { DispatchSource.makeSignalSource(signal: $0, queue: queue) }
            for source in sources {
                source.setEventHandler {
                    if once.fire() {
                        sources.forEach { $0.cancel() }
                        continuation.resume()
                    }
                }
                source.resume()
            }
        }
    }
}

import Synchronization
final class Once: Sendable {
    private let fired = Mutex(false)
    func fire() -> Bool { fired.withLock { f in defer { f = true }; return !f } }
}
