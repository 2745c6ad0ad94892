import Foundation
import Outbound
import TestSupport
import Testing

@Suite("SRS")
struct SRSTests {
    static let secret = Array("sealbox-test-secret".utf8)
    static let srs = SRS(secret: secret, domain: "forward.example")
    /// 2026-11-22T12:00:00Z: day 20779, timestamp "JL".
    static let noon = Date(timeIntervalSince1970: 1_795_348_800)
    static let day: TimeInterval = 86_400

    // Known vectors. Computed from the scheme with Python's hmac module —
    //   stamp = B32[slot >> 5] + B32[slot & 31], slot = (t // 86400) % 1024
    //   base64(hmac.new(secret, (stamp + host + local).lower(), sha1).digest())[:4]
    // — and identical to what postsrsd 1.10 (Debian bookworm, libsrs2) answers for the same secret
    // on that day (see `matchesPostsrsd` for the live comparison).
    @Test("known SRS0 and SRS1 vectors")
    func knownVectors() {
        #expect(Self.srs.forward("User@Example.org", now: Self.noon) == "SRS0=w9dV=JL=Example.org=User@forward.example")
        #expect(Self.srs.forward("SRS0=abcd=XY=other.org=joe@mid.example", now: Self.noon)
                == "SRS1=8ypT=mid.example==abcd=XY=other.org=joe@forward.example")
    }

    @Test("forward then reverse gives the original address back", arguments: [
        "user@example.org", "First.Last+tag@Sub.Example.ORG", "o'neil@example.co.uk", "\"quoted user\"@example.org",
        "x=y@example.org",
    ])
    func roundTrip(_ address: String) {
        let forwarded = Self.srs.forward(address, now: Self.noon)
        #expect(forwarded.hasPrefix("SRS0="))
        #expect(forwarded.hasSuffix("@forward.example"))
        #expect(Self.srs.reverse(forwarded, now: Self.noon) == address)
        #expect(Self.srs.reverse(forwarded, now: Self.noon + 5 * Self.day) == address)
    }

    @Test("the null sender stays null; our own domain and strings without @ are unchanged")
    func unchanged() {
        #expect(Self.srs.forward("", now: Self.noon) == "")
        #expect(Self.srs.forward("someone@forward.example", now: Self.noon) == "someone@forward.example")
        #expect(Self.srs.forward("someone@FORWARD.Example", now: Self.noon) == "someone@FORWARD.Example")
        #expect(Self.srs.forward("postmaster", now: Self.noon) == "postmaster")
        #expect(Self.srs.reverse("", now: Self.noon) == nil)
        #expect(Self.srs.reverse("user@example.org", now: Self.noon) == nil)
    }

    @Test("the hash and the timestamp are case-insensitive (local parts get re-cased in transit)")
    func caseInsensitive() {
        let forwarded = Self.srs.forward("User@Example.org", now: Self.noon)
        #expect(Self.srs.reverse(forwarded.lowercased(), now: Self.noon) == "user@example.org")
        #expect(Self.srs.reverse(forwarded.uppercased(), now: Self.noon) == "USER@EXAMPLE.ORG")
        #expect(Self.srs.reverse("srs0=W9DV=jl=Example.org=User@forward.example", now: Self.noon) == "User@Example.org")
    }

    @Test("tampering with any field, or another secret, fails the check")
    func tampering() {
        let good = "SRS0=w9dV=JL=Example.org=User@forward.example"
        #expect(Self.srs.reverse(good, now: Self.noon) == "User@Example.org")
        for bad in [
            "SRS0=w9dW=JL=Example.org=User@forward.example",    // hash
            "SRS0=w9dV=JM=Example.org=User@forward.example",    // timestamp
            "SRS0=w9dV=JL=Example.com=User@forward.example",    // host
            "SRS0=w9dV=JL=Example.org=Usr@forward.example",     // user
            "SRS0=w9d=JL=Example.org=User@forward.example",     // short hash
            "SRS0=w9dV=JL=Example.org@forward.example",         // missing field
            "SRS0=w9dV=J=Example.org=User@forward.example",     // short timestamp
            "SRS0=w9dV=J1=Example.org=User@forward.example",    // not base32
            "SRS2=w9dV=JL=Example.org=User@forward.example",
        ] {
            #expect(Self.srs.reverse(bad, now: Self.noon) == nil, "\(bad)")
        }
        let other = SRS(secret: Array("another secret".utf8), domain: "forward.example")
        #expect(other.reverse(good, now: Self.noon) == nil)
    }

    @Test("valid for 21 days, not after, and not from the future")
    func expiry() {
        let forwarded = Self.srs.forward("user@example.org", now: Self.noon)
        #expect(Self.srs.reverse(forwarded, now: Self.noon + 21 * Self.day) == "user@example.org")
        #expect(Self.srs.reverse(forwarded, now: Self.noon + 22 * Self.day) == nil)
        #expect(Self.srs.reverse(forwarded, now: Self.noon + 400 * Self.day) == nil)
        #expect(Self.srs.reverse(forwarded, now: Self.noon - Self.day) == nil)
        // the day counter wraps every 1024 days: slot 1023 is one day before slot 0
        let lastSlot = Date(timeIntervalSince1970: 1023 * Self.day + 100)
        let wrapped = Self.srs.forward("user@example.org", now: lastSlot)
        #expect(wrapped.contains("=77="))
        #expect(Self.srs.reverse(wrapped, now: lastSlot + 2 * Self.day) == "user@example.org")
    }

    @Test("SRS1: a second hop keeps the first forwarder's SRS0 and reverses to it")
    func srs1() {
        let first = SRS(secret: Array("first hop".utf8), domain: "mid.example")
        let srs0 = first.forward("joe@other.org", now: Self.noon)
        #expect(srs0.hasPrefix("SRS0=") && srs0.hasSuffix("@mid.example"))
        let srs1 = Self.srs.forward(srs0, now: Self.noon)
        let inner = srs0.dropFirst(4).prefix { $0 != "@" }   // "=HHHH=TT=other.org=joe"
        #expect(srs1.hasPrefix("SRS1="))
        #expect(srs1.hasSuffix("=mid.example=\(inner)@forward.example"))
        #expect(Self.srs.reverse(srs1, now: Self.noon) == srs0)
        #expect(first.reverse(srs0, now: Self.noon) == "joe@other.org")
        // SRS1 carries no timestamp of its own
        #expect(Self.srs.reverse(srs1, now: Self.noon + 100 * Self.day) == srs0)
        #expect(Self.srs.reverse(srs1.lowercased(), now: Self.noon) == "SRS0" + srs0.lowercased().dropFirst(4))

        // a third hop rewrites the SRS1 address: same first hop, new hash, new domain
        let third = SRS(secret: Array("third".utf8), domain: "last.example")
        let again = third.forward(srs1, now: Self.noon)
        #expect(again.hasPrefix("SRS1=") && again.hasSuffix("=mid.example=\(inner)@last.example"))
        #expect(third.reverse(again, now: Self.noon) == srs0)
        // a tampered SRS1 hash fails
        var chars = Array(srs1)
        chars[5] = chars[5] == "A" ? "B" : "A"
        #expect(Self.srs.reverse(String(chars), now: Self.noon) == nil)
    }

    @Test("matches postsrsd (libsrs2) forward and reverse, live",
          .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/sbin/postsrsd"), "postsrsd is not installed (scripts/setup-test-deps.sh)"))
    func matchesPostsrsd() async throws {
        let dir = try TestEnvironment.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let secretFile = dir.appendingPathComponent("secret")
        try Data("sealbox-test-secret\n".utf8).write(to: secretFile)
        let forwardPort = freePort(), reversePort = freePort()
        let postsrsd = try TestChild("/usr/sbin/postsrsd", [
            "-s", secretFile.path, "-d", "forward.example", "-l", "127.0.0.1", "-4",
            "-f", String(forwardPort), "-r", String(reversePort),
        ], stderr: dir.appendingPathComponent("postsrsd.log").path)
        defer { postsrsd.kill() }

        // Asks postsrsd's TCP lookup tables (Postfix tcp_table protocol: "get KEY" → "200 VALUE").
        let queries = ["User@Example.org", "joe@other.org", "SRS0=abcd=XY=other.org=joe@mid.example"]
        let script = """
        import socket, sys, time
        def ask(port, key):
            deadline = time.time() + 20
            while True:
                try:
                    s = socket.create_connection(("127.0.0.1", port), timeout=5)
                    break
                except OSError:
                    if time.time() > deadline: raise
                    time.sleep(0.05)
            s.sendall(("get %s\\n" % key).encode())
            reply = s.recv(4096).decode().strip()
            s.close()
            return reply
        for key in sys.stdin.read().split():
            fwd = ask(\(forwardPort), key)
            print(fwd)
            print(ask(\(reversePort), fwd.split(" ", 1)[1]))
        """
        let before = Date()
        let output = try await TestEnvironment.python(script, stdin: Array(queries.joined(separator: "\n").utf8))
        let after = Date()
        await postsrsd.stop()
        let lines = output.split(separator: "\n").map(String.init)
        try #require(lines.count == queries.count * 2, "postsrsd: \(output)")
        for (i, query) in queries.enumerated() {
            let theirs = lines[2 * i], theirReverse = lines[2 * i + 1]
            #expect(theirs.hasPrefix("200 "))
            let forwarded = String(theirs.dropFirst(4))
            // postsrsd used its own clock: ours must match for that day
            #expect([Self.srs.forward(query, now: before), Self.srs.forward(query, now: after)].contains(forwarded))
            let expectedOriginal = query.hasPrefix("SRS0=") ? "SRS0=abcd=XY=other.org=joe@mid.example" : query
            #expect(theirReverse == "200 " + expectedOriginal)
            #expect(Self.srs.reverse(forwarded, now: after) == expectedOriginal)
        }
    }

    private func freePort() -> Int { MotoServer.freePort() }
}
