import Directory
import Foundation
import MailCore
import SealboxApp
import SMTPCore
import SMTPServer

/// The MX's cost of running a recipient's Sieve script: filter + commit per message (sealed to
/// one mailbox), without a script and with a typical one (regex fileinto, body test, duplicate,
/// vacation), median of 5 rounds.
///   swift run -c release SealboxBench sieve-delivery [--messages 200] [--kilobytes 20]
func sieveDeliveryBenchmark(arguments: [String]) async throws {
    func option(_ name: String, _ fallback: Int) -> Int {
        guard let i = arguments.firstIndex(of: name), i + 1 < arguments.count, let v = Int(arguments[i + 1]) else { return fallback }
        return v
    }
    let messages = option("--messages", 200), kilobytes = option("--kilobytes", 20)
    let dir = NSTemporaryDirectory() + "sealbox-bench-sieve-" + UUID().uuidString
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let node = try SealboxNode.open(dataDirectory: dir)
    _ = try await node.directory.addDomain(try Domain("example.com"))
    let alias = try await node.directory.addAlias(try EmailAddress("user@example.com"), store: true, forwardTo: [], webhooks: [], quotaBytes: nil)
    _ = try await node.mailboxes.createMailbox(for: alias, label: "bench")
    let handler = DirectoryInboundHandler(directory: node.directory, mailboxes: node.mailboxes, postmaster: nil, rewriteSender: { $0 },
                                          sieve: SieveDelivery(filtering: DirectorySieveFilter(directory: node.directory),
                                                               hasher: node.sieveMemoryHasher, hostname: "mx.example.com"))
    guard case .success(let route) = await handler.route(SMTPMailbox(localPart: "user", domain: "example.com"), size: nil) else {
        throw SMTPReply(451, nil, "route failed")
    }
    let line = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod.\r\n"
    let body = String(repeating: line, count: max(1, kilobytes * 1024 / line.utf8.count))
    var sequence = 0
    func round() async throws -> Double {
        let start = ContinuousClock.now
        for _ in 0..<messages {
            sequence += 1
            var t = InboundTransaction(mailFrom: "a@example.org", recipients: [route],
                                       message: Array("From: a@example.org\r\nTo: user@example.com\r\nSubject: [dev] number \(sequence)\r\nMessage-ID: <\(sequence)@example.org>\r\n\r\n\(body)".utf8),
                                       receivedAt: Date(), remoteIP: "192.0.2.1", helo: "client", queueID: "Q\(sequence)")
            _ = await handler.filter(&t)
            try await handler.commit(t)
        }
        let d = ContinuousClock.now - start
        return (Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18) * 1000 / Double(messages)
    }
    func median5() async throws -> Double {
        _ = try await round()  // warm-up
        var rounds: [Double] = []
        for _ in 0..<5 { rounds.append(try await round()) }
        return median(rounds)
    }
    let plain = try await median5()
    try await node.directory.putSieveScript(aliasID: alias.id, name: "bench", content: #"""
        require ["fileinto", "imap4flags", "mailbox", "variables", "regex", "body", "duplicate", "vacation"];
        if header :regex "subject" "^\\[([a-z]+)\\]" { fileinto :create "Lists/${1}"; }
        if body :contains "unsubscribe now" { discard; }
        if duplicate { addflag "\\Seen"; }
        if address :is "from" "boss@example.com" { vacation :days 1 "away"; }
        """#, at: Date())
    try await node.directory.activateSieveScript(aliasID: alias.id, name: "bench")
    let filtered = try await median5()
    let errors = try await node.directory.sieveRunErrors(aliasID: alias.id)
    print(String(format: "sieve-delivery: %d messages of %d KB per round, median of 5: no script %.2f ms/message, with a script %.2f ms/message (+%.2f)",
                 messages, kilobytes, plain, filtered, filtered - plain))
    if !errors.isEmpty { print("sieve-delivery: the script reported \(errors.count) errors: \(errors[0].message)") }
    await node.shutdown()
}
