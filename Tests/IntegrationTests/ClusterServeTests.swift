import Foundation
import TestSupport
import Testing

/// A cluster as separate `sealbox serve` processes on loopback (issue 19): PostgreSQL for the
/// directory and the node registry, two storage nodes (`--role storage`, one mailbox each) and two
/// frontends (`--role frontend`) that reach them over the mutual-TLS RPC. Real clients (imaplib,
/// smtplib, poplib) through both frontends, then faults: a frontend killed mid-APPEND, a storage
/// node killed during SMTP deliveries.
@Suite("A cluster: two storage nodes and two frontends", .serialized)
struct ClusterServeTests {
    static let python = ProcessInfo.processInfo.environment["SEALBOX_TEST_PYTHON"] ?? "/usr/bin/python3"

    /// One `sealbox serve` of the cluster.
    final class Node: @unchecked Sendable {
        // @unchecked: mutated only by the test's one task.
        let name: String, dataDir: String, arguments: [String], environment: [String: String]
        var process: ChildHandle
        var output: LineCollector
        init(name: String, dataDir: String, arguments: [String], environment: [String: String], ready: (String) -> Bool) throws {
            self.name = name; self.dataDir = dataDir; self.arguments = arguments; self.environment = environment
            (process, output) = try ServeProcess.launch(arguments, environment: environment)
            try Self.wait(process, output, name: name, ready: ready)
        }
        static func wait(_ process: ChildHandle, _ output: LineCollector, name: String, ready: (String) -> Bool) throws {
            let deadline = ContinuousClock.now + .seconds(90)
            while ContinuousClock.now < deadline {
                if ready(output.text) { return }
                if !process.isRunning { break }
                usleep(20_000)
            }
            ServeProcess.kill9(process)
            throw ServerHarness.StartError(description: "\(name) did not start: \(output.text)")
        }
        func restart(ready: (String) -> Bool) throws {
            (process, output) = try ServeProcess.launch(arguments, environment: environment)
            try Self.wait(process, output, name: name, ready: ready)
        }
        func port(_ service: String) -> Int { ServerHarness.port(in: output.text, service: service) ?? 0 }
        func stop() {
            process.terminate()
            let deadline = ContinuousClock.now + .seconds(20)
            while process.isRunning && ContinuousClock.now < deadline { usleep(20_000) }
            ServeProcess.kill9(process)
        }
    }

    /// PostgreSQL database, cluster CA, certificates and the secret of one test's cluster.
    struct Fixture {
        let pg: PostgresServer
        let database: String
        let root: String
        var clusterDir: String { root + "/ca" }
        let setup: CLIHarness
        var ownsServer = false

        /// `ownDatabaseServer`: a PostgreSQL of its own (a test that restarts it), else the shared one.
        static func make(nodes: [String], ownDatabaseServer: Bool = false) async throws -> Fixture {
            let pg = ownDatabaseServer ? try PostgresServer() : try await PostgresServer.shared()
            let fixture = Fixture(pg: pg, database: try await pg.createDatabase(), root: NSTemporaryDirectory() + "sealbox-cluster-" + UUID().uuidString,
                                  setup: try CLIHarness(), ownsServer: ownDatabaseServer)
            #expect(try await fixture.setup.run(["cluster", "init", "--dir", fixture.clusterDir]).ok)
            for name in nodes {
                let issued = try await fixture.setup.run(["cluster", "add-node", name, "--address", "127.0.0.1", "--dir", fixture.clusterDir])
                #expect(issued.ok, "\(issued.stderr)")
            }
            return fixture
        }

        func cleanUp() {
            if ownsServer { pg.stop() }
            try? FileManager.default.removeItem(atPath: root)
            setup.cleanUp()
        }

        func environment(_ name: String, _ extra: [String: String] = [:]) -> [String: String] {
            ServeProcess.environmentWithoutAuth.merging([
                "SEALBOX_DIRECTORY_URL": pg.url(database: database),
                "SEALBOX_CLUSTER_CERTIFICATE": clusterDir + "/\(name).pem",
                "SEALBOX_CLUSTER_KEY": clusterDir + "/\(name).key",
                "SEALBOX_CLUSTER_CA": clusterDir + "/ca.pem",
                "SEALBOX_CLUSTER_SECRET_FILE": clusterDir + "/cluster.secret",
                "SEALBOX_CLUSTER_LEASE_SECONDS": "15",
            ].merging(extra) { $1 }) { $1 }
        }

        func cli(_ name: String) -> CLIHarness { CLIHarness(dataDir: root + "/\(name)") }

        /// example.com, the alias `address` and its first password, made with `node`'s CLI before
        /// it serves (the node leases the mailbox file it finds when it joins). Returns the password.
        func makeMailbox(_ address: String, node: String = "s1", env: [String: String]) async throws -> String {
            #expect(try await cli(node).run(["domain", "add", "example.com"], env: env).ok)
            #expect(try await cli(node).run(["alias", "add", address], env: env).ok)
            return try await cli(node).run(["password", "generate", address], env: env).stdout
                .trimmingCharacters(in: .whitespacesAndNewlines)
        }

        func storage(_ name: String, extra: [String: String] = [:]) throws -> Node {
            let rpc = ServeProcess.freePort()
            return try Node(name: name, dataDir: root + "/\(name)",
                            arguments: ["serve", "--data-dir", root + "/\(name)", "--role", "storage", "--listen", "127.0.0.1"],
                            environment: environment(name, ["SEALBOX_CLUSTER_LISTEN": "127.0.0.1:\(rpc)"].merging(extra) { $1 }),
                            ready: { $0.contains("listening: cluster-rpc") })
        }

        static let frontendReady: @Sendable (String) -> Bool = {
            // Every listener the tests use (they bind in parallel).
            ServerHarness.port(in: $0, service: "smtp") != nil && ServerHarness.port(in: $0, service: "pop3") != nil
                && ServerHarness.port(in: $0, service: "imap") != nil
        }

        func frontend(_ name: String, extra: [String: String] = [:]) throws -> Node {
            try Node(name: name, dataDir: root + "/\(name)",
                     arguments: ["serve", "--data-dir", root + "/\(name)", "--role", "frontend", "--listen", "127.0.0.1", "--allow-insecure-auth",
                                 "--imap-port", "auto", "--imaps-port", "off", "--pop3-port", "auto", "--pop3s-port", "off",
                                 "--smtp-port", "auto", "--submission-port", "off", "--submissions-port", "off"],
                     environment: environment(name, extra), ready: Self.frontendReady)
        }

        /// The storage node the registry places the address's mailbox on.
        func placement(of address: String) async throws -> String {
            try await pg.psql("SELECT node_id FROM mailbox_placement JOIN alias ON alias.mailbox_id = mailbox_placement.mailbox_id WHERE alias.canonical = '\(address)'",
                              database: database).trimmingCharacters(in: .whitespacesAndNewlines)
        }
    }

    /// curl's status and body for a GET (the node's self-signed certificate accepted), as
    /// MTASTSServeTests asks: the status on the last line.
    static func curl(_ url: String, _ extra: [String] = []) async throws -> (status: Int, body: String) {
        let run = try await ScriptRunner.run("curl", ["-sk", "--max-time", "20", "-w", "\n%{http_code}"] + extra + [url], timeout: .seconds(30))
        var lines = run.output.split(separator: "\n", omittingEmptySubsequences: false)
        let status = lines.popLast().flatMap { Int($0) } ?? 0
        return (status, lines.joined(separator: "\n"))
    }

    /// `cluster_client.py append-once`, again for up to 30 s while the mailbox is unavailable (its
    /// placement just changed: the frontend's router finds it within its cache time).
    static func appendOnce(port: Int, messageID: String, passwords: [String: String]) async throws -> ScriptRunner.Result {
        var result = try await ScriptRunner.run(python, ["cluster_client.py", "append-once", "\(port)", messageID], env: passwords, timeout: .seconds(60))
        let retryBy = ContinuousClock.now + .seconds(30)
        while !result.output.contains("AFTER"), ContinuousClock.now < retryBy {
            try await Task.sleep(for: .seconds(1))
            result = try await ScriptRunner.run(python, ["cluster_client.py", "append-once", "\(port)", messageID], env: passwords, timeout: .seconds(60))
        }
        return result
    }

    @Test("imaplib, smtplib and poplib through two frontends; IDLE on one sees mail from the other; kills lose nothing")
    func twoStorageTwoFrontends() async throws {
        let cluster = try await Fixture.make(nodes: ["s1", "s2", "f1", "f2"])
        defer { cluster.cleanUp() }
        let pg = cluster.pg, database = cluster.database, root = cluster.root, setup = cluster.setup
        func common(_ name: String) -> [String: String] { cluster.environment(name) }
        // Each storage node's mailbox, made with the CLI on its data directory before it serves:
        // the node leases the files it finds when it joins.
        let s1CLI = cluster.cli("s1"), s2CLI = cluster.cli("s2")
        #expect(try await s1CLI.run(["domain", "add", "example.com"], env: common("s1")).ok)
        #expect(try await s1CLI.run(["alias", "add", "one@example.com"], env: common("s1")).ok)
        let onePassword = try await s1CLI.run(["password", "generate", "one@example.com"], env: common("s1")).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(try await s2CLI.run(["alias", "add", "two@example.com"], env: common("s2")).ok)
        let twoPassword = try await s2CLI.run(["password", "generate", "two@example.com"], env: common("s2")).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(!onePassword.isEmpty && !twoPassword.isEmpty)

        func storage(_ name: String) throws -> Node { try cluster.storage(name) }
        func frontend(_ name: String) throws -> Node { try cluster.frontend(name) }
        let s1 = try storage("s1")
        defer { s1.stop() }
        let s2 = try storage("s2")
        defer { s2.stop() }
        let f1 = try frontend("f1")
        defer { f1.stop() }
        let f2 = try frontend("f2")
        defer { f2.stop() }
        #expect(s1.output.text.contains("cluster: node s1, role storage (1 mailbox lease(s))"), "\(s1.output.text)")
        #expect(f1.output.text.contains("cluster: node f1, role frontend"), "\(f1.output.text)")
        // A frontend keeps nothing: no node key, no directory, queue or mailbox files.
        let kept = (try? FileManager.default.contentsOfDirectory(atPath: f1.dataDir)) ?? []
        #expect(!kept.contains("node.key") && !kept.contains("queue.sqlite") && !kept.contains("mailboxes"), "\(kept)")
        // The CLI on a frontend's machine refuses what would give it a node (a key, a queue, a mailbox).
        let onFrontend = try await cluster.cli("f1").run(["password", "generate", "one@example.com"],
                                                        env: cluster.environment("f1", ["SEALBOX_NODE_ROLE": "frontend"]))
        #expect(!onFrontend.ok && onFrontend.stderr.contains("this is a frontend"), "\(onFrontend.stderr)")
        #expect(!((try? FileManager.default.contentsOfDirectory(atPath: f1.dataDir)) ?? []).contains("node.key"))
        let placement = try await pg.psql("SELECT node_id || '=' || count(*) FROM mailbox_placement GROUP BY node_id ORDER BY node_id", database: database)
        #expect(placement.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) } == ["s1=1", "s2=1"], "\(placement)")

        // Every node heard from, with its counts; both mailboxes leased.
        let status = try await setup.run(["cluster", "status"], env: ["SEALBOX_DIRECTORY_URL": pg.url(database: database)])
        #expect(status.ok, "\(status.stderr)")
        let statusLines = status.stdout.split(separator: "\n").map(String.init)
        for (name, role) in [("s1", "storage"), ("s2", "storage"), ("f1", "frontend"), ("f2", "frontend")] {
            #expect(statusLines.contains { $0.hasPrefix(name + " ") && $0.contains(role) && $0.contains("active") }, "\(status.stdout)")
        }
        #expect(statusLines.contains { $0.hasPrefix("s1 ") && $0.contains("127.0.0.1:") }, "\(status.stdout)")
        #expect(status.stdout.contains("mailboxes: 2 placed; leases: 2 held, 0 expired, 0 released"), "\(status.stdout)")
        #expect(!status.stdout.contains(pg.password) && !status.stderr.contains(pg.password))

        let passwords = ["ONE_PW": onePassword, "TWO_PW": twoPassword]
        let flow = try await ScriptRunner.run(Self.python, ["cluster_client.py", "flow", "\(f1.port("imap"))", "\(f1.port("pop3"))",
                                                             "\(f2.port("imap"))", "\(f2.port("smtp"))"], env: passwords, timeout: .seconds(120))
        #expect(flow.ok, "\(flow.output)")
        #expect(flow.output.contains("ONE EXISTS 1"), "\(flow.output)")
        #expect(flow.output.contains("TWO EXISTS VIA B 1"), "\(flow.output)")
        #expect(flow.output.contains("IDLE ON A SAW EXISTS 2"), "\(flow.output)")
        #expect(flow.output.contains("POP3 STAT 2"), "\(flow.output)")

        // A frontend's HTTP: health and readiness for a load balancer, its own metrics (the logins
        // above), autoconfiguration naming its own ports; the API answers 503 saying where it is.
        let http = f1.port("https")
        #expect(http != 0, "\(f1.output.text)")
        #expect(try await Self.curl("https://127.0.0.1:\(http)/readyz").status == 200)
        let exposition = try await Self.curl("https://127.0.0.1:\(http)/metrics")
        #expect(exposition.status == 200 && exposition.body.contains("sealbox_logins_total"), "\(exposition.body)")
        let setupXML = try await Self.curl("https://127.0.0.1:\(http)/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=one@example.com")
        #expect(setupXML.status == 200 && setupXML.body.contains("<port>\(f1.port("imap"))</port>"), "\(setupXML.body)")
        let api = try await Self.curl("https://127.0.0.1:\(http)/api/v1/admin/domains", ["-H", "Authorization: Bearer not-a-token"])
        #expect(api.status == 503 && api.body.contains("storage nodes"), "\(api.body)")

        // Frontend B killed in the middle of an APPEND literal: the client's retry on A stores it once.
        let partial = try ChildHandle(Self.python, ["cluster_client.py", "partial-append", "\(f2.port("imap"))", "killed@test"],
                                      environment: ProcessInfo.processInfo.environment.merging(passwords.merging(["PYTHONUNBUFFERED": "1"]) { $1 }) { $1 },
                                      directory: ScriptRunner.clientsDirectory)
        let sentBy = ContinuousClock.now + .seconds(60)
        while !partial.stdoutText.contains("SENT") && partial.isRunning && ContinuousClock.now < sentBy { usleep(20_000) }
        #expect(partial.stdoutText.contains("SENT"), "\(partial.stdoutText) \(partial.stderrText)")
        ServeProcess.kill9(f2.process)
        #expect(await partial.exited(within: .seconds(60)))
        let once = try await ScriptRunner.run(Self.python, ["cluster_client.py", "append-once", "\(f1.port("imap"))", "killed@test"],
                                              env: passwords, timeout: .seconds(60))
        #expect(once.output.contains("BEFORE 0 AFTER 1"), "\(once.output)")

        // Storage node s2 killed during SMTP deliveries to its mailbox and started again: every
        // message answered 250 at its first try is there exactly once; the retried ones at least once.
        let burst = try ChildHandle(Self.python, ["cluster_client.py", "smtp-burst", "\(f1.port("smtp"))", "\(f1.port("imap"))", "20"],
                                    environment: ProcessInfo.processInfo.environment.merging(passwords.merging(["PYTHONUNBUFFERED": "1"]) { $1 }) { $1 },
                                    directory: ScriptRunner.clientsDirectory)
        let halfBy = ContinuousClock.now + .seconds(90)
        while !burst.stdoutText.contains("HALF") && burst.isRunning && ContinuousClock.now < halfBy { usleep(20_000) }
        #expect(burst.stdoutText.contains("HALF"), "\(burst.stdoutText) \(burst.stderrText)")
        ServeProcess.kill9(s2.process)
        try await Task.sleep(for: .seconds(2))
        try s2.restart(ready: { $0.contains("listening: cluster-rpc") })
        #expect(await burst.exited(within: .seconds(150)))
        let burstOutput = burst.stdoutText + burst.stderrText
        #expect(burst.terminationStatus == 0, "\(burstOutput)")
        #expect(burstOutput.contains("FIRST-TRY NOT EXACTLY ONCE []"), "\(burstOutput)")
        #expect(burstOutput.contains("RETRIED MISSING []"), "\(burstOutput)")
        #expect(!(s1.output.text + s2.output.text + f1.output.text).contains(onePassword))

        // A new mailbox placed on a named node: made through s1's CLI, its file is on s2.
        #expect(try await s1CLI.run(["alias", "add", "three@example.com"], env: common("s1")).ok)
        let three = try await s1CLI.run(["password", "generate", "three@example.com", "--node", "s2"], env: common("s1"))
        #expect(three.ok, "\(three.stderr)")
        #expect(try await cluster.placement(of: "three@example.com") == "s2")

        // one@ moved from s1 to s2 while mail arrives through f1 (APPEND) and f2's MX (restarted
        // after its kill above): everything acknowledged is there, once.
        f2.process.terminate()
        try f2.restart(ready: Fixture.frontendReady)
        let load = try ChildHandle(Self.python, ["cluster_client.py", "move-load", "\(f1.port("imap"))", "\(f2.port("smtp"))", "6"],
                                   environment: ProcessInfo.processInfo.environment.merging(passwords.merging(["PYTHONUNBUFFERED": "1"]) { $1 }) { $1 },
                                   directory: ScriptRunner.clientsDirectory)
        let startedBy = ContinuousClock.now + .seconds(60)
        while !load.stdoutText.contains("STARTED") && load.isRunning && ContinuousClock.now < startedBy { usleep(20_000) }
        try await Task.sleep(for: .seconds(2))
        let moved = try await s1CLI.run(["mailbox", "move", "one@example.com", "--to", "s2"], env: common("s1"), timeout: .seconds(120))
        #expect(moved.ok && moved.stdout.contains("to s2"), "\(moved.stdout) \(moved.stderr)")
        #expect(await load.exited(within: .seconds(150)))
        let loadOutput = load.stdoutText + load.stderrText
        #expect(load.terminationStatus == 0, "\(loadOutput)")
        #expect(loadOutput.contains("WRONG []"), "\(loadOutput)")
        #expect(try await cluster.placement(of: "one@example.com") == "s2")
        let leftOnS1 = FileManager.default.enumerator(atPath: root + "/s1/mailboxes")?.compactMap { $0 as? String }.filter { $0.hasSuffix(".sqlite") } ?? []
        #expect(leftOnS1.isEmpty, "\(leftOnS1)")
    }

    @Test("a mailbox move waits for a delivery that claimed the mailbox just before it began: answered 250, there once on the new node")
    func moveWaitsForDelivery() async throws {
        let cluster = try await Fixture.make(nodes: ["s1", "s2", "f1"])
        defer { cluster.cleanUp() }
        let env = cluster.environment("s1")
        let password = try await cluster.makeMailbox("one@example.com", env: env)
        // s1 holds each delivery for 4 s between its claim of the mailbox and its queue commit.
        let s1 = try cluster.storage("s1", extra: ["SEALBOX_FAULT_DELAY": "inbound.afterClaim:4000"])
        defer { s1.stop() }
        let s2 = try cluster.storage("s2")
        defer { s2.stop() }
        let f1 = try cluster.frontend("f1")
        defer { f1.stop() }
        let passwords = ["ONE_PW": password, "TWO_PW": password]
        let delivery = try ChildHandle(Self.python, ["cluster_client.py", "smtp-once", "\(f1.port("smtp"))", "held@test"],
                                       environment: ProcessInfo.processInfo.environment.merging(passwords.merging(["PYTHONUNBUFFERED": "1"]) { $1 }) { $1 },
                                       directory: ScriptRunner.clientsDirectory)
        let heldBy = ContinuousClock.now + .seconds(60)
        while !s1.output.text.contains("fault: holding at inbound.afterClaim") && ContinuousClock.now < heldBy { usleep(20_000) }
        #expect(s1.output.text.contains("fault: holding at inbound.afterClaim"), "\(s1.output.text.suffix(3000))")
        // The move begins while the delivery is held: it must not copy the queue before it commits.
        let moved = try await cluster.cli("s1").run(["mailbox", "move", "one@example.com", "--to", "s2"], env: env, timeout: .seconds(120))
        #expect(moved.ok && moved.stdout.contains("to s2") && moved.stdout.contains("1 queued message(s)"), "\(moved.stdout) \(moved.stderr)")
        #expect(await delivery.exited(within: .seconds(60)))
        #expect(delivery.stdoutText.contains("ACKED"), "\(delivery.stdoutText) \(delivery.stderrText)")
        #expect(try await cluster.placement(of: "one@example.com") == "s2")
        let counted = try await ScriptRunner.run(Self.python, ["cluster_client.py", "count", "\(f1.port("imap"))", "held@test"],
                                                 env: passwords, timeout: .seconds(90))
        #expect(counted.output.contains("COUNT 1"), "\(counted.output)")
    }

    /// libfaketime (Debian `faketime`) moves a process's wall clock by `offset` ("+120s"); its
    /// monotonic clock stays true. Only forward: with a clock set back, libfaketime's timed waits
    /// (`pthread_cond_timedwait`) make Swift's `Task.sleep` oversleep by the offset.
    static func wallClock(_ offset: String) -> [String: String] {
        ["LD_PRELOAD": "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1", "FAKETIME": offset, "FAKETIME_DONT_FAKE_MONOTONIC": "1"]
    }

    @Test("shared storage: nodes whose wall clocks are minutes apart agree on leases; a storage node killed, its mailbox taken over by another once its lease expired; it stays there when the node returns")
    func takeover() async throws {
        let cluster = try await Fixture.make(nodes: ["s1", "s2", "f1"])
        defer { cluster.cleanUp() }
        // One mailbox volume for both storage nodes (a network filesystem in production).
        let shared = cluster.root + "/shared-mailboxes"
        try FileManager.default.createDirectory(atPath: shared, withIntermediateDirectories: true)
        for name in ["s1", "s2"] {
            try FileManager.default.createDirectory(atPath: cluster.root + "/\(name)", withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(atPath: cluster.root + "/\(name)/mailboxes", withDestinationPath: shared)
        }
        let shortLeases = ["SEALBOX_CLUSTER_LEASE_SECONDS": "6", "SEALBOX_CLUSTER_SHARED_STORAGE": "true"]
        let env = cluster.environment("s1", shortLeases)
        let password = try await cluster.makeMailbox("one@example.com", env: env)
        // s2's wall clock is two minutes fast: twenty leases ahead of s1's. Leases and heartbeats
        // are timed by PostgreSQL's clock, so s2 does not see s1 as silent or its lease as expired.
        let s1 = try cluster.storage("s1", extra: shortLeases)
        defer { s1.stop() }
        let s2 = try cluster.storage("s2", extra: shortLeases.merging(Self.wallClock("+120s")) { $1 })
        defer { s2.stop() }
        let f1 = try cluster.frontend("f1", extra: shortLeases)
        defer { f1.stop() }
        #expect(try await cluster.placement(of: "one@example.com") == "s1")
        #expect(s2.output.text.contains("mailboxes.elsewhere=1"), "\(s2.output.text)")
        let passwords = ["ONE_PW": password, "TWO_PW": password]
        let first = try await ScriptRunner.run(Self.python, ["cluster_client.py", "append-once", "\(f1.port("imap"))", "before@test"],
                                               env: passwords, timeout: .seconds(60))
        #expect(first.output.contains("BEFORE 0 AFTER 1"), "\(first.output)")
        // Three of s2's takeover checks (one per heartbeat, a third of the lease): s1 is alive and
        // renewing, so the mailbox stays on s1 and s1 still serves it.
        try await Task.sleep(for: .seconds(7))
        #expect(try await cluster.placement(of: "one@example.com") == "s1")
        #expect(!s2.output.text.contains("took over"), "\(s2.output.text)")
        let second = try await ScriptRunner.run(Self.python, ["cluster_client.py", "append-once", "\(f1.port("imap"))", "skew@test"],
                                                env: passwords, timeout: .seconds(60))
        #expect(second.output.contains("BEFORE 0 AFTER 1"), "\(second.output)")
        // s1 dies holding the lease; s2 takes the mailbox once the lease (6 s) has expired.
        ServeProcess.kill9(s1.process)
        let deadline = ContinuousClock.now + .seconds(60)
        while try await cluster.placement(of: "one@example.com") != "s2", ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(500)) }
        #expect(try await cluster.placement(of: "one@example.com") == "s2", "\(s2.output.text)")
        #expect(s2.output.text.contains("took over mailboxes of silent storage nodes"), "\(s2.output.text)")
        // The mail stored through s1 is there, and new mail goes in through s2.
        let retried = try await Self.appendOnce(port: f1.port("imap"), messageID: "before@test", passwords: passwords)
        #expect(retried.output.contains("BEFORE 1 AFTER 2"), "\(retried.output)")
        let skewed = try await Self.appendOnce(port: f1.port("imap"), messageID: "skew@test", passwords: passwords)
        #expect(skewed.output.contains("BEFORE 1 AFTER 2"), "\(skewed.output)")
        // s1 returns: the mailbox stays with s2 (s1 does not claim it back).
        try s1.restart(ready: { $0.contains("listening: cluster-rpc") })
        #expect(s1.output.text.contains("mailboxes.elsewhere=1"), "\(s1.output.text)")
        #expect(try await cluster.placement(of: "one@example.com") == "s2")
    }

    @Test("local disks: a storage node lost for good, its mailbox restored from its backup onto another node (backup restore --to-node)")
    func restoreToNode() async throws {
        let cluster = try await Fixture.make(nodes: ["s1", "s2", "f1"])
        defer { cluster.cleanUp() }
        let backups = ["SEALBOX_BACKUP_DESTINATION": "file://" + cluster.root + "/backups", "SEALBOX_CLUSTER_LEASE_SECONDS": "6"]
        let env = cluster.environment("s1", backups)
        let password = try await cluster.makeMailbox("one@example.com", env: env)
        let s1 = try cluster.storage("s1", extra: backups)
        defer { s1.stop() }
        let s2 = try cluster.storage("s2", extra: backups)
        defer { s2.stop() }
        let f1 = try cluster.frontend("f1", extra: backups)
        defer { f1.stop() }
        let passwords = ["ONE_PW": password, "TWO_PW": password]
        let first = try await ScriptRunner.run(Self.python, ["cluster_client.py", "append-once", "\(f1.port("imap"))", "backed-up@test"],
                                               env: passwords, timeout: .seconds(60))
        #expect(first.output.contains("BEFORE 0 AFTER 1"), "\(first.output)")
        let backedUp = try await cluster.cli("s1").run(["backup", "run", "one@example.com"], env: env, timeout: .seconds(120))
        #expect(backedUp.ok, "\(backedUp.stdout) \(backedUp.stderr)")
        // s1 is lost; once its lease has expired, s2 restores the mailbox and becomes its owner.
        ServeProcess.kill9(s1.process)
        let early = try await cluster.cli("s2").run(["backup", "restore", "one@example.com", "--to-node", "s2"], env: cluster.environment("s2", backups))
        #expect(!early.ok && early.stderr.contains("lease"), "\(early.stdout) \(early.stderr)")
        try await Task.sleep(for: .seconds(7))
        let wrongNode = try await cluster.cli("s2").run(["backup", "restore", "one@example.com", "--to-node", "s1"], env: cluster.environment("s2", backups))
        #expect(!wrongNode.ok && wrongNode.stderr.contains("this is node s2"), "\(wrongNode.stderr)")
        let restored = try await cluster.cli("s2").run(["backup", "restore", "one@example.com", "--to-node", "s2"],
                                                       env: cluster.environment("s2", backups.merging(["SEALBOX_PASSWORD": password]) { $1 }),
                                                       timeout: .seconds(120))
        #expect(restored.ok, "\(restored.stdout) \(restored.stderr)")
        #expect(try await cluster.placement(of: "one@example.com") == "s2")
        let again = try await Self.appendOnce(port: f1.port("imap"), messageID: "backed-up@test", passwords: passwords)
        #expect(again.output.contains("BEFORE 1 AFTER 2"), "\(again.output)")
    }

    @Test("PostgreSQL restarted during SMTP deliveries through a frontend: every message answered 250 at its first try is there once")
    func databaseRestart() async throws {
        let cluster = try await Fixture.make(nodes: ["s1", "f1"], ownDatabaseServer: true)
        defer { cluster.cleanUp() }
        let env = cluster.environment("s1")
        let password = try await cluster.makeMailbox("two@example.com", env: env)
        let s1 = try cluster.storage("s1")
        defer { s1.stop() }
        let f1 = try cluster.frontend("f1")
        defer { f1.stop() }
        let burst = try ChildHandle(Self.python, ["cluster_client.py", "smtp-burst", "\(f1.port("smtp"))", "\(f1.port("imap"))", "30"],
                                    environment: ProcessInfo.processInfo.environment.merging(["ONE_PW": password, "TWO_PW": password, "PYTHONUNBUFFERED": "1"]) { $1 },
                                    directory: ScriptRunner.clientsDirectory)
        let halfBy = ContinuousClock.now + .seconds(90)
        while !burst.stdoutText.contains("HALF") && burst.isRunning && ContinuousClock.now < halfBy { usleep(20_000) }
        #expect(burst.stdoutText.contains("HALF"), "\(burst.stdoutText) \(burst.stderrText)")
        await cluster.pg.pause()
        // Down for real (a deliveries' directory lookup waits for it, bounded, or fails 451).
        let probe = try? await cluster.pg.psql("SELECT 1")
        #expect(probe == nil)
        try await Task.sleep(for: .seconds(4))
        await cluster.pg.resume()
        #expect(await burst.exited(within: .seconds(420)))
        let output = burst.stdoutText + burst.stderrText
        print("cluster: PostgreSQL restart under SMTP load: \(output.split(separator: "\n").filter { $0.hasPrefix("SLOWEST") || $0.hasPrefix("RETRIED ") })")
        #expect(burst.terminationStatus == 0, "\(output)\n\(f1.output.text.suffix(4000))\n\(s1.output.text.suffix(4000))")
        #expect(output.contains("FIRST-TRY NOT EXACTLY ONCE []"), "\(output)")
        #expect(output.contains("RETRIED MISSING []"), "\(output)")
        // Both nodes are still registered and beating.
        let status = try await cluster.setup.run(["cluster", "status"], env: ["SEALBOX_DIRECTORY_URL": cluster.pg.url(database: cluster.database)])
        #expect(status.stdout.contains("leases: 1 held"), "\(status.stdout) \(status.stderr)")
    }
}
