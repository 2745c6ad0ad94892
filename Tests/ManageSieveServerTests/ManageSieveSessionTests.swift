import Foundation
import MailNet
import ManageSieveCore
@testable import ManageSieveServer
import Sieve
import Testing

let sieveCapability = "\"SIEVE\" \"\(SieveExtensions.capabilityString)\"\r\n"
let goodScript = "require [\"fileinto\"];\nfileinto \"Work\";\n"

@Suite("ManageSieve transcripts")
struct ManageSieveTranscriptTests {
    @Test("greeting and CAPABILITY: SASL before login when insecure logins are allowed; no SASL after")
    func capabilities() async throws {
        let h = try await ManageSieveHarness()
        let c = h.connect()
        let capabilities = "\"IMPLEMENTATION\" \"Sealbox 0.1\"\r\n" + sieveCapability + "\"MAXREDIRECTS\" \"4\"\r\n"
        #expect(try await c.read() == capabilities + "\"SASL\" \"PLAIN LOGIN\"\r\n\"UNAUTHENTICATE\"\r\n\"VERSION\" \"1.0\"\r\nOK \"Sealbox ManageSieve ready.\"\r\n")
        #expect(try await c.command("capability") == capabilities + "\"SASL\" \"PLAIN LOGIN\"\r\n\"UNAUTHENTICATE\"\r\n\"VERSION\" \"1.0\"\r\nOK \"Capability completed.\"\r\n")
        #expect(try await c.command(h.plainLogin) == "OK \"Logged in.\"\r\n")
        #expect(try await c.command("CAPABILITY") == capabilities + "\"UNAUTHENTICATE\"\r\n\"VERSION\" \"1.0\"\r\nOK \"Capability completed.\"\r\n")
        #expect(try await c.command("LOGOUT") == "OK \"Logout completed.\"\r\n")
        try await c.waitClosed()
        await c.close()
        await h.cleanUp()
    }

    @Test("without TLS: STARTTLS and an empty SASL list, logins refused (ENCRYPT-NEEDED); after STARTTLS the capabilities again")
    func startTLS() async throws {
        let h = try await ManageSieveHarness()
        let c = h.connect(allowInsecureAuth: false, canStartTLS: true)
        let greeting = try await c.read()
        #expect(greeting.contains("\"SASL\" \"\"\r\n\"STARTTLS\"\r\n"), "\(greeting)")
        #expect(try await c.command(h.plainLogin)
                == "NO (ENCRYPT-NEEDED) \"Plaintext authentication disallowed on non-secure (SSL/TLS) connections.\"\r\n")
        #expect(try await c.command("LISTSCRIPTS") == "NO \"Error in MANAGESIEVE command LISTSCRIPTS: Not logged in.\"\r\n")
        #expect(try await c.command("STARTTLS") == "OK \"Begin TLS negotiation now.\"\r\n")
        #expect(c.transport.tlsStarted)
        let again = try await c.read()
        #expect(again.hasSuffix("\"SASL\" \"PLAIN LOGIN\"\r\n\"UNAUTHENTICATE\"\r\n\"VERSION\" \"1.0\"\r\nOK \"TLS negotiation successful.\"\r\n"), "\(again)")
        #expect(!again.contains("STARTTLS"))
        #expect(try await c.command(h.plainLogin) == "OK \"Logged in.\"\r\n")
        await c.close()
        await h.cleanUp()
    }

    @Test("a command pipelined after STARTTLS is refused and the connection closed, TLS not started")
    func startTLSPipelined() async throws {
        let h = try await ManageSieveHarness()
        let c = h.connect(allowInsecureAuth: false, canStartTLS: true)
        _ = try await c.read()
        await c.send("STARTTLS\r\n\(h.plainLogin)\r\n")
        #expect(try await c.read() == "BYE \"STARTTLS must be the last command before the TLS handshake.\"\r\n")
        try await c.waitClosed()
        #expect(!c.transport.tlsStarted)
        await c.close()
        await h.cleanUp()
    }

    /// The situations of the reference probe (shared/reference/sieve/managesieve-probe-dovecot.txt),
    /// answered with Dovecot's response codes and words.
    @Test("the probe's situations, as Dovecot answers them", arguments: [false, true])
    func probe(realStore: Bool) async throws {
        let h = try await ManageSieveHarness(realStore: realStore)
        let c = h.connect()
        try await c.login(h)
        #expect(try await c.command("PUTSCRIPT \"a\" " + literal(goodScript)) == "OK \"PUTSCRIPT completed.\"\r\n")
        let bad = try await c.command("PUTSCRIPT \"bad\" " + literal("fileinto \"x\""))
        #expect(bad.hasPrefix("NO {") && bad.contains("bad: line 1: error: "), "\(bad)")
        let unknown = try await c.command("CHECKSCRIPT " + literal("require \"nosuchext\";\nkeep;\n"))
        #expect(unknown.hasPrefix("NO {") && unknown.contains("line 1: error: ") && unknown.contains("nosuchext"), "\(unknown)")
        #expect(try await c.command("CHECKSCRIPT " + literal("keep;\n")) == "OK \"Script checked successfully.\"\r\n")
        #expect(try await c.command("PUTSCRIPT \"Ünïcode\" " + literal("keep;\n")) == "OK \"PUTSCRIPT completed.\"\r\n")
        #expect(try await c.command("LISTSCRIPTS") == "\"a\"\r\n\"Ünïcode\"\r\nOK \"Listscripts completed.\"\r\n")
        #expect(try await c.command("SETACTIVE \"a\"") == "OK \"Setactive completed.\"\r\n")
        #expect(try await c.command("SETACTIVE \"a\"") == "OK \"Script is already active.\"\r\n")
        #expect(try await c.command("LISTSCRIPTS") == "\"a\" ACTIVE\r\n\"Ünïcode\"\r\nOK \"Listscripts completed.\"\r\n")
        #expect(try await c.command("SETACTIVE \"missing\"") == "NO (NONEXISTENT) \"Sieve script `missing' not found\"\r\n")
        #expect(try await c.command("DELETESCRIPT \"a\"") == "NO (ACTIVE) \"Cannot delete the active Sieve script.\"\r\n")
        #expect(try await c.command("RENAMESCRIPT \"a\" \"Ünïcode\"") == "NO (ALREADYEXISTS) \"A sieve script with that name already exists.\"\r\n")
        #expect(try await c.command("RENAMESCRIPT \"a\" \"a\"") == "NO (ALREADYEXISTS) \"A sieve script with that name already exists.\"\r\n")
        #expect(try await c.command("RENAMESCRIPT \"nope\" \"z\"") == "NO (NONEXISTENT) \"Sieve script `nope' not found\"\r\n")
        #expect(try await c.command("GETSCRIPT \"missing\"") == "NO (NONEXISTENT) \"Sieve script `missing' not found\"\r\n")
        #expect(try await c.command("GETSCRIPT \"a\"") == "{\(goodScript.utf8.count)}\r\n\(goodScript)\r\nOK \"Getscript completed.\"\r\n")
        #expect(try await c.command("HAVESPACE \"big\" 10000000") == "NO (QUOTA/MAXSIZE) \"Script is too large (max 1048576 bytes).\"\r\n")
        #expect(try await c.command("HAVESPACE \"small\" 100") == "OK \"Putscript would succeed.\"\r\n")
        #expect(try await c.command("HAVESPACE \"\" 100") == "NO \"Invalid script name.\"\r\n")
        #expect(try await c.command("NOOP \"probe-1\"") == "OK (TAG \"probe-1\") \"Done\"\r\n")
        #expect(try await c.command("NOOP") == "OK \"NOOP Completed\"\r\n")
        #expect(try await c.command("FROBNICATE") == "NO \"Error in MANAGESIEVE command FROBNICATE: Unknown command.\"\r\n")
        #expect(try await c.command("RENAMESCRIPT \"a\" \"b\"") == "OK \"Renamescript completed.\"\r\n")
        #expect(try await c.command("LISTSCRIPTS") == "\"b\" ACTIVE\r\n\"Ünïcode\"\r\nOK \"Listscripts completed.\"\r\n")
        #expect(try await c.command("SETACTIVE \"\"") == "OK \"Active script is now deactivated.\"\r\n")
        #expect(try await c.command("SETACTIVE \"\"") == "OK \"No scripts currently active.\"\r\n")
        #expect(try await c.command("DELETESCRIPT \"b\"") == "OK \"Deletescript completed.\"\r\n")
        #expect(try await c.command("DELETESCRIPT \"Ünïcode\"") == "OK \"Deletescript completed.\"\r\n")
        #expect(try await c.command("DELETESCRIPT \"Ünïcode\"") == "NO (NONEXISTENT) \"Sieve script `Ünïcode' not found\"\r\n")
        #expect(try await c.command("PUTSCRIPT \"bad\\u0001\" \"keep;\"") == "NO \"Error in MANAGESIEVE command PUTSCRIPT: Escaped quoted-string character is not a QUOTED-SPECIAL.\"\r\n")
        #expect(try await c.command("PUTSCRIPT {3+}\r\na\u{1}b \"keep;\"") == "NO \"Invalid Sieve script name `a\u{1}b'.\"\r\n")
        #expect(try await c.command("LISTSCRIPTS") == "OK \"Listscripts completed.\"\r\n")
        #expect(try await c.command("LOGOUT") == "OK \"Logout completed.\"\r\n")
        await c.close()
        await h.cleanUp()
    }

    @Test("AUTHENTICATE: PLAIN with a literal or after an empty challenge, LOGIN in two steps, \"*\" aborts, a wrong password fails")
    func authentication() async throws {
        let h = try await ManageSieveHarness()
        let c = h.connect()
        _ = try await c.read()
        let plain = Data("\0\(h.address)\0\(h.password)".utf8).base64EncodedString()
        let wrong = Data("\0\(h.address)\0wrong".utf8).base64EncodedString()
        #expect(try await c.command("AUTHENTICATE \"PLAIN\" \"\(wrong)\"") == "NO \"Authentication failed.\"\r\n")
        #expect(try await c.command("AUTHENTICATE \"FOO\"") == "NO \"Unsupported authentication mechanism.\"\r\n")
        await c.send("AUTHENTICATE \"PLAIN\"\r\n")
        #expect(try await c.readLine() == "\"\"\r\n")
        #expect(try await c.command("\"*\"") == "NO \"Authentication aborted by client.\"\r\n")
        await c.send("AUTHENTICATE \"LOGIN\"\r\n")
        #expect(try await c.readLine() == "\"VXNlcm5hbWU6\"\r\n")
        await c.send("\"\(Data(h.address.utf8).base64EncodedString())\"\r\n")
        #expect(try await c.readLine() == "\"UGFzc3dvcmQ6\"\r\n")
        #expect(try await c.command(literal(Data(h.password.utf8).base64EncodedString())) == "OK \"Logged in.\"\r\n")
        #expect(try await c.command("AUTHENTICATE \"PLAIN\" \"\(plain)\"") == "NO \"Error in MANAGESIEVE command AUTHENTICATE: Already authenticated.\"\r\n")
        #expect(try await c.command("UNAUTHENTICATE") == "OK \"Unauthenticate completed.\"\r\n")
        #expect(try await c.command("LISTSCRIPTS") == "NO \"Error in MANAGESIEVE command LISTSCRIPTS: Not logged in.\"\r\n")
        // sieve-connect's form: a non-synchronising literal as the initial response
        #expect(try await c.command("AUTHENTICATE \"PLAIN\" " + literal(plain)) == "OK \"Logged in.\"\r\n")
        await c.send("UNAUTHENTICATE\r\nAUTHENTICATE \"PLAIN\"\r\n")
        #expect(try await c.read() == "OK \"Unauthenticate completed.\"\r\n")
        #expect(try await c.readLine() == "\"\"\r\n")
        #expect(try await c.command("{\(plain.utf8.count)}\r\n\(plain)") == "OK \"Logged in.\"\r\n")
        await c.close()
        await h.cleanUp()
    }

    /// CVE-2025-59028 class: invalid base64 in SASL data must fail that attempt only.
    @Test("invalid base64 in AUTHENTICATE fails that attempt alone; the same and another connection log in after it")
    func invalidBase64() async throws {
        let h = try await ManageSieveHarness()
        let c = h.connect(), other = h.connect()
        _ = try await c.read()
        _ = try await other.read()
        #expect(try await c.command("AUTHENTICATE \"PLAIN\" \"!!!not base64###\"") == "NO \"Invalid base64 in the SASL response.\"\r\n")
        #expect(try await c.command("AUTHENTICATE \"LOGIN\" \"%%%\"") == "NO \"Invalid base64 in the SASL response.\"\r\n")
        await c.send("AUTHENTICATE \"PLAIN\"\r\n")
        #expect(try await c.readLine() == "\"\"\r\n")
        #expect(try await c.command("\"\u{7F}\u{7F}\"") == "NO \"Invalid base64 in the SASL response.\"\r\n")
        await c.send("AUTHENTICATE \"PLAIN\"\r\n")
        #expect(try await c.readLine() == "\"\"\r\n")
        #expect(try await c.command("LISTSCRIPTS") == "NO \"Error in MANAGESIEVE command AUTHENTICATE: Invalid SASL response (expected a string).\"\r\n")
        #expect(try await other.command(h.plainLogin) == "OK \"Logged in.\"\r\n")
        #expect(try await c.command(h.plainLogin) == "OK \"Logged in.\"\r\n")
        await c.close()
        await other.close()
        await h.cleanUp()
    }

    @Test("before login a literal is small: a big one is skipped and refused, never buffered; one too big to skip ends the connection")
    func literalLimitsBeforeLogin() async throws {
        let h = try await ManageSieveHarness()
        let c = h.connect()
        _ = try await c.read()
        let big = String(repeating: "A", count: 20_000)
        #expect(try await c.command("AUTHENTICATE \"PLAIN\" {20000+}\r\n\(big)") == "NO \"Error in MANAGESIEVE command AUTHENTICATE: Too long argument.\"\r\n")
        #expect(try await c.command("NOOP") == "OK \"NOOP Completed\"\r\n")
        await c.send("AUTHENTICATE \"PLAIN\" {100000000+}\r\n")
        #expect(try await c.read() == "BYE \"Protocol error: literal of 100000000 bytes is too large.\"\r\n")
        try await c.waitClosed()
        await c.close()
        await h.cleanUp()
    }

    @Test("after login: a script over 1 MiB is skipped and refused QUOTA/MAXSIZE; the session goes on")
    func scriptTooLarge() async throws {
        let h = try await ManageSieveHarness()
        let c = h.connect()
        try await c.login(h)
        let big = String(repeating: "#", count: 2_000_000)
        #expect(try await c.command("PUTSCRIPT \"big\" {2000000+}\r\n\(big)") == "NO (QUOTA/MAXSIZE) \"Script is too large (max 1048576 bytes).\"\r\n")
        #expect(try await c.command("LISTSCRIPTS") == "OK \"Listscripts completed.\"\r\n")
        await c.close()
        await h.cleanUp()
    }

    @Test("QUOTA/MAXSCRIPTS past 32 scripts; HAVESPACE says so first; replacing a script still fits")
    func scriptCount() async throws {
        let h = try await ManageSieveHarness()
        let c = h.connect()
        try await c.login(h)
        for i in 0..<32 { #expect(try await c.command("PUTSCRIPT \"s\(i)\" \"keep;\"") == "OK \"PUTSCRIPT completed.\"\r\n") }
        #expect(try await c.command("HAVESPACE \"new\" 10") == "NO (QUOTA/MAXSCRIPTS) \"Script count quota exceeded (max 32 scripts).\"\r\n")
        #expect(try await c.command("PUTSCRIPT \"new\" \"keep;\"") == "NO (QUOTA/MAXSCRIPTS) \"Script count quota exceeded (max 32 scripts).\"\r\n")
        #expect(try await c.command("HAVESPACE \"s1\" 10") == "OK \"Putscript would succeed.\"\r\n")
        #expect(try await c.command("PUTSCRIPT \"s1\" \"discard;\"") == "OK \"PUTSCRIPT completed.\"\r\n")
        await c.close()
        await h.cleanUp()
    }

    @Test("too many invalid commands in a row: BYE")
    func badCommands() async throws {
        let h = try await ManageSieveHarness()
        let c = h.connect()
        _ = try await c.read()
        for _ in 0..<9 { #expect(try await c.command("BOGUS").hasPrefix("NO ")) }
        #expect(try await c.command("BOGUS") == "BYE \"Too many invalid MANAGESIEVE commands.\"\r\n")
        try await c.waitClosed()
        await c.close()
        await h.cleanUp()
    }

    @Test("a revoked password ends the session at its next command")
    func revoked() async throws {
        let h = try await ManageSieveHarness()
        let c = h.connect()
        try await c.login(h)
        #expect(try await c.command("LISTSCRIPTS") == "OK \"Listscripts completed.\"\r\n")
        _ = h.memory?.revoke(address: h.address)
        #expect(try await c.command("LISTSCRIPTS") == "BYE \"The password of this session is no longer valid.\"\r\n")
        try await c.waitClosed()
        await c.close()
        await h.cleanUp()
    }

    @Test("a store that fails: NO (TRYLATER), the session goes on")
    func storeFailure() async throws {
        let h = try await ManageSieveHarness()
        let c = h.connect()
        try await c.login(h)
        (h.store as? MemorySieveScriptStore)?.broken.withLock { $0 = true }
        #expect(try await c.command("LISTSCRIPTS") == "NO (TRYLATER) \"Internal error occurred. Refer to server log for more information.\"\r\n")
        (h.store as? MemorySieveScriptStore)?.broken.withLock { $0 = false }
        #expect(try await c.command("LISTSCRIPTS") == "OK \"Listscripts completed.\"\r\n")
        await c.close()
        await h.cleanUp()
    }

    @Test("server shutdown: BYE (TRYLATER), connection closed")
    func shutdown() async throws {
        let h = try await ManageSieveHarness()
        let c = h.connect()
        try await c.login(h)
        c.inbox.pushShutdown()
        #expect(try await c.read() == "BYE (TRYLATER) \"Server shutting down.\"\r\n")
        try await c.waitClosed()
        await c.close()
        await h.cleanUp()
    }

    @Test("idle before login: BYE after the pre-login limit (a manual clock, no sleep)")
    func idleTimeout() async throws {
        let h = try await ManageSieveHarness()
        let (clock, advance) = SessionClock.manual()
        let c = h.connect { $0.clock = clock }
        _ = try await c.read()
        advance(.seconds(61))
        c.inbox.pushTick()
        #expect(try await c.read() == "BYE \"Disconnected for inactivity.\"\r\n")
        try await c.waitClosed()
        await c.close()
        await h.cleanUp()
    }

    @Test("a command trickled in byte by byte is cut off at its time limit (slowloris)")
    func inputDeadline() async throws {
        let h = try await ManageSieveHarness()
        let (clock, advance) = SessionClock.manual()
        let c = h.connect { $0.clock = clock }
        try await c.login(h)
        await c.send("PUTSCRIPT \"a\" {100000+}\r\n")
        try await c.waitTaken()
        // A byte every 30 s: never idle (the idle limit after login is 30 min)…
        for _ in 0..<11 {
            advance(.seconds(30))
            await c.send("#")
            try await c.waitTaken()
        }
        // …but the command's 5 minutes are over once the tick comes (ticks follow the bytes).
        advance(.seconds(301))
        c.inbox.pushTick()
        #expect(try await c.read() == "BYE \"Disconnected: the command took too long to arrive.\"\r\n")
        try await c.waitClosed()
        await c.close()
        await h.cleanUp()
    }

    @Test("the real store: scripts land in the directory, the active one marked")
    func directory() async throws {
        let h = try await ManageSieveHarness(realStore: true)
        let c = h.connect()
        try await c.login(h)
        #expect(try await c.command("PUTSCRIPT \"vacation\" " + literal(goodScript)) == "OK \"PUTSCRIPT completed.\"\r\n")
        #expect(try await c.command("SETACTIVE \"vacation\"") == "OK \"Setactive completed.\"\r\n")
        let node = try #require(h.node)
        let alias = try #require(try await node.directory.alias(address: .init(h.address)))
        let active = try await node.directory.activeSieveScript(aliasID: alias.id)
        #expect(active?.name == "vacation" && active?.content == goodScript)
        await c.close()
        await h.cleanUp()
    }
}

@Suite("ManageSieve listener configuration")
struct ManageSieveConfigurationTests {
    @Test("one listener: port 4190 with STARTTLS, never an implicit-TLS twin on the same port")
    func oneListener() {
        let configuration = ManageSieveServer.Configuration()
        #expect(configuration.listeners.plainPort == 4190 && configuration.listeners.implicitTLSPort == nil)
        #expect(ManageSieveServer.Configuration(store: MemorySieveScriptStore(mailboxes: .init())).listeners.implicitTLSPort == nil)
    }
}
