import Foundation
import Testing

/// The MTA-STS policy (RFC 8461) served by the node's HTTPS listener for each of its domains,
/// the same text whose id `sealbox domain dns` publishes.
@Suite("sealbox serve: the MTA-STS policy over HTTPS")
struct MTASTSServeTests {
    @Test("https://mta-sts.<domain>/.well-known/mta-sts.txt is the policy domain dns prints; other hosts get 404; http.mtaSTS sets both")
    func policyServed() async throws {
        let server = try await ServerHarness(environment: ["SEALBOX_HTTP_MTA_STS": "enforce", "SEALBOX_SERVER_HOSTNAME": "mx.example.com"])
        defer { _ = server.stop() }
        let deadline = ContinuousClock.now + .seconds(30)
        while ServerHarness.port(in: server.log, service: "https") == nil, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        let port = try #require(ServerHarness.port(in: server.log, service: "https"), "\(server.log)")
        func fetch(_ host: String) async throws -> ScriptRunner.Result {
            try await ScriptRunner.run("curl", ["-sk", "-w", "\n%{http_code}", "--resolve", "\(host):\(port):127.0.0.1",
                                               "https://\(host):\(port)/.well-known/mta-sts.txt"], timeout: .seconds(30))
        }
        let served = try await fetch("mta-sts.example.com")
        #expect(served.output.hasSuffix("\n200"), "\(served.output)")
        let policy = String(served.output.dropLast(4))
        #expect(policy == "version: STSv1\r\nmode: enforce\r\nmx: mx.example.com\r\nmax_age: 604800\r\n", "\(policy.debugDescription)")
        // domain dns (beside the node, through its control socket) publishes the id of this very text.
        let dns = try await server.cli.run(["domain", "dns", "example.com"], env: ["SEALBOX_HTTP_MTA_STS": "enforce",
                                                                                  "SEALBOX_SERVER_HOSTNAME": "mx.example.com"])
        #expect(dns.ok && dns.stdout.contains("; mode: enforce") && dns.stdout.contains("; mx: mx.example.com"), "\(dns.stdout)\(dns.stderr)")
        for other in ["mta-sts.example.org", "example.com", "www.example.com"] {
            let r = try await fetch(other)
            #expect(r.output.hasSuffix("\n404"), "\(other): \(r.output)")
        }
    }
}
