import Foundation
import Sieve

/// `SealboxBench sieve [--iterations N]`: compile and run time of a typical filing script over a
/// 4 KB message (what the MX pays per delivery), median of 5 rounds.
func sieveBenchmark(arguments: [String]) async throws {
    var iterations = 20_000
    if let i = arguments.firstIndex(of: "--iterations"), i + 1 < arguments.count, let n = Int(arguments[i + 1]) { iterations = n }
    let script = """
    require ["fileinto", "envelope", "variables", "imap4flags"];
    if header :contains "subject" ["[dev]", "[announce]"] { fileinto "Lists/dev"; stop; }
    if address :domain :is "from" "example.org" { addflag "\\\\Flagged"; }
    if envelope :localpart :matches "to" "*+*" { set "detail" "${2}"; fileinto "${detail}"; }
    """
    let header = "Return-Path: <sender@example.org>\r\nFrom: Joe <joe@example.org>\r\nTo: alice+work@example.com\r\n"
        + "Subject: Re: weekly report\r\nDate: Fri, 13 Feb 2009 23:31:30 +0100\r\nMessage-ID: <1@example.org>\r\n\r\n"
    let message = Array(header.utf8) + Array(repeating: UInt8(ascii: "x"), count: 4000)
    let context = SieveRunContext(message: message, envelope: SieveEnvelope(from: "sender@example.org", to: "alice+work@example.com"))
    var compileRounds = [Double](), runRounds = [Double]()
    var compiled = try SieveScript.compile(script)
    var sink = 0
    for _ in 0..<5 {
        var t0 = Date()
        for _ in 0..<iterations { compiled = try SieveScript.compile(script) }
        compileRounds.append(Date().timeIntervalSince(t0) / Double(iterations) * 1e6)
        t0 = Date()
        for _ in 0..<iterations { sink &+= compiled.run(context).actions.count }
        runRounds.append(Date().timeIntervalSince(t0) / Double(iterations) * 1e6)
    }
    print(String(format: "sieve: compile %.1f µs, run %.1f µs per message (median of 5 × %d; %d actions)",
                 median(compileRounds), median(runRounds), iterations, sink))
}
