import DNSCore
import Foundation
import MailAuth
import Outbound

/// `swift run -c release SealboxBench dkim [--iterations N] [--kilobytes K]`
/// What DKIM signing costs each message that leaves: `DKIMSigner.sign` (relaxed/relaxed body hash,
/// header canonicalization, one signature per key) on one K KB text message (default 10), with the
/// Ed25519 key alone, the RSA-2048 key alone, and both as the outbound worker signs (Ed25519, then
/// RSA). Keys made as `domain add` makes them (`DKIMSigningKey.generate`). Prints µs per message,
/// the median of 5 rounds of N iterations each (one thread).
func dkimBenchmark(arguments: [String]) async throws {
    guard let (iterations, kilobytes) = dkimBenchOptions(arguments, mode: "dkim", iterations: 2000, kilobytes: 10) else { return }
    let (ed25519, rsa) = try dkimBenchKeys()
    let message = dkimBenchMessage(bytes: kilobytes * 1024)
    print("dkim benchmark: \(message.count)-byte message, \(iterations) iterations x 5 rounds, median round")
    for (label, keys) in [("ed25519-sha256 alone    ", [ed25519]), ("rsa-sha256 (2048) alone ", [rsa]), ("both (as sent)          ", [ed25519, rsa])] {
        try await printMedianRound(label, iterations: iterations, warmUp: 100) { try DKIMSigner.sign(message, keys: keys).count }
    }
}

/// A plain-text message of about `bytes` bytes, with the headers a mail client sends.
func dkimBenchMessage(bytes: Int) -> [UInt8] {
    var text = "From: Sender <sender@example.com>\r\nTo: User <user@dest.example>\r\nSubject: DKIM benchmark\r\n"
        + "Date: Sun, 06 Dec 2026 10:00:00 +0000\r\nMessage-ID: <dkim-bench@example.com>\r\nMIME-Version: 1.0\r\n"
        + "Content-Type: text/plain; charset=utf-8\r\n\r\n"
    let line = "The quarterly report is attached; the meeting moved to Thursday at ten.  \r\n"
    while text.utf8.count + line.utf8.count <= bytes { text += line }
    return Array(text.utf8)
}

/// `--iterations N` and `--kilobytes K` (at least 1 each, else the defaults given), or nil after
/// printing the usage of `mode` for anything else.
func dkimBenchOptions(_ arguments: [String], mode: String, iterations: Int, kilobytes: Int) -> (iterations: Int, kilobytes: Int)? {
    var options = (iterations: iterations, kilobytes: kilobytes)
    var i = 0
    while i < arguments.count {
        switch arguments[i] {
        case "--iterations" where i + 1 < arguments.count: options.iterations = max(1, Int(arguments[i + 1]) ?? iterations); i += 2
        case "--kilobytes" where i + 1 < arguments.count: options.kilobytes = max(1, Int(arguments[i + 1]) ?? kilobytes); i += 2
        default: print("usage: SealboxBench \(mode) [--iterations N] [--kilobytes K]"); return nil
        }
    }
    return options
}

/// An Ed25519 and an RSA-2048 key of example.com, made as `domain add` makes them.
func dkimBenchKeys() throws -> (ed25519: DKIMSigningKey, rsa: DKIMSigningKey) {
    (try DKIMSigningKey.generate(domain: "example.com", selector: "bench-e", algorithm: .ed25519),
     try DKIMSigningKey.generate(domain: "example.com", selector: "bench-r", algorithm: .rsa))
}

/// A resolver answering the keys' records at `<selector>._domainkey.<domain>`.
func dkimBenchResolver(_ keys: [DKIMSigningKey]) throws -> InMemoryDNSResolver {
    var resolver = InMemoryDNSResolver()
    for key in keys { resolver.add(try DNSName("\(key.selector)._domainkey.\(key.domain)"), [.txt(TXTRecord(text: key.dnsRecord))]) }
    return resolver
}

/// Runs `body` `warmUp` times (at most `iterations`), then 5 rounds of `iterations`; prints the
/// median round's µs per call with the fastest and slowest (the sum of what `body` returns keeps
/// the work from being optimized away).
func printMedianRound(_ label: String, iterations: Int, warmUp: Int, _ body: () async throws -> Int) async rethrows {
    var sink = 0
    for _ in 0..<min(iterations, warmUp) { sink &+= try await body() }
    var rounds: [Double] = []
    for _ in 0..<5 {
        let start = ContinuousClock.now
        for _ in 0..<iterations { sink &+= try await body() }
        let elapsed = ContinuousClock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        rounds.append(seconds / Double(iterations) * 1e6)
    }
    rounds.sort()
    print(String(format: "%@: %.1f µs per message (rounds %.1f–%.1f µs; sink %d)", label, rounds[2], rounds[0], rounds[4], sink & 1))
}

/// `swift run -c release SealboxBench verify [--iterations N] [--kilobytes K]`
/// What DKIM verification costs each message received: `DKIMVerifier.verify` on one K KB text
/// message (default 20) signed by `DKIMSigner` with one Ed25519 and one RSA-2048 key (both checked,
/// as the MX does), and with each key alone. The key records come from an `InMemoryDNSResolver`, so
/// the figure is parsing, canonicalization, hashing and the public-key operations, without DNS
/// latency. Prints µs per message, the median of 5 rounds of N iterations each (one task).
func dkimVerifyBenchmark(arguments: [String]) async throws {
    guard let (iterations, kilobytes) = dkimBenchOptions(arguments, mode: "verify", iterations: 500, kilobytes: 20) else { return }
    let (ed25519, rsa) = try dkimBenchKeys()
    let verifier = DKIMVerifier(resolver: try dkimBenchResolver([ed25519, rsa]))
    let message = dkimBenchMessage(bytes: kilobytes * 1024)
    print("dkim verify benchmark: \(message.count)-byte message, \(iterations) iterations x 5 rounds, median round")
    for (label, keys) in [("ed25519 + rsa-2048 (as received)", [ed25519, rsa]), ("ed25519-sha256 alone            ", [ed25519]),
                          ("rsa-sha256 (2048) alone         ", [rsa])] {
        let signed = try DKIMSigner.sign(message, keys: keys)
        let check = await verifier.verify(signed)
        guard check.count == keys.count, check.allSatisfy({ $0.result == .pass }) else {
            print("\(label): verification did not pass: \(check)")
            continue
        }
        await printMedianRound(label, iterations: iterations, warmUp: 50) { await verifier.verify(signed).count }
    }
}

/// `SealboxBench auth`: what the MX's whole check costs per message (`InboundAuthenticator.check`:
/// SPF for the sender's domain, both DKIM signatures, ARC, DMARC with the Public Suffix List,
/// the Authentication-Results field), DNS answered from memory (as from a warm cache). Prints µs
/// per message, the median of 5 rounds.
func authBenchmark(arguments: [String]) async throws {
    guard let (iterations, kilobytes) = dkimBenchOptions(arguments, mode: "auth", iterations: 500, kilobytes: 20) else { return }
    let (ed25519, rsa) = try dkimBenchKeys()
    var resolver = try dkimBenchResolver([ed25519, rsa])
    for (name, text) in [("example.com", "v=spf1 ip4:192.0.2.0/24 include:_spf.example.com -all"),
                         ("_spf.example.com", "v=spf1 ip4:198.51.100.0/24 ~all"),
                         ("_dmarc.example.com", "v=DMARC1; p=reject; rua=mailto:dmarc@example.com")] {
        resolver.add(try DNSName(name), [.txt(TXTRecord(text: text))])
    }
    let list = (try? PublicSuffixList()) ?? PublicSuffixList(text: "com")
    let authenticator = InboundAuthenticator(resolver: resolver, publicSuffixList: list,
                                             configuration: .init(authservID: "mx.example.org"))
    let signed = try DKIMSigner.sign(dkimBenchMessage(bytes: kilobytes * 1024), keys: [ed25519, rsa])
    func check() async -> InboundAuthenticator.Report {
        await authenticator.check(message: signed, clientIP: "198.51.100.7", helo: "mail.example.com", mailFrom: "news@example.com")
    }
    let first = await check()
    guard first.verdict == .deliver, first.dmarc.result == .pass, first.spf?.result == .pass else {
        print("auth benchmark: the check did not pass: \(first.results.field)")
        return
    }
    print("auth benchmark: \(signed.count)-byte message, SPF pass via include, Ed25519 + RSA-2048 DKIM, DMARC p=reject; \(iterations) iterations x 5 rounds")
    await printMedianRound("SPF + DKIM + ARC + DMARC", iterations: iterations, warmUp: 0) { await check().dkim.count }
}
