import Foundation

/// SMTP MTA Strict Transport Security (RFC 8461): a domain's published promise that its MX hosts
/// take mail over TLS with a certificate valid for their names. Pure parsing and matching here;
/// `MTASTSPolicyCache` fetches and remembers policies.
public struct MTASTSPolicy: Sendable, Equatable {
    public enum Mode: String, Sendable { case enforce, testing, none }

    public var mode: Mode
    /// MX patterns: a host name, or `*.` and a name (one label more, RFC 8461 §4.1).
    public var mx: [String]
    /// Seconds the policy may be cached (at most one year, RFC 8461 §3.2).
    public var maxAge: Int

    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var description: String
        public init(description: String) { self.description = description }
    }

    /// Limits: a policy is small; anything larger is refused before parsing.
    public static let maxBytes = 64 * 1024
    public static let maxAgeLimit = 31_557_600

    public init(mode: Mode, mx: [String], maxAge: Int) {
        self.mode = mode; self.mx = mx; self.maxAge = maxAge
    }

    /// Parses the policy text (RFC 8461 §3.2): `key: value` lines ending in CRLF or LF; `version`
    /// STSv1, `mode`, `max_age` required; `mx` required unless the mode is `none`; unknown keys
    /// ignored.
    public static func parse(_ text: String) throws -> MTASTSPolicy {
        guard text.utf8.count <= maxBytes else { throw Failure(description: "policy larger than \(maxBytes) bytes") }
        var version: String?, mode: Mode?, maxAge: Int?, mx: [String] = []
        for rawLine in text.split(omittingEmptySubsequences: true, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            var line = Substring(rawLine)
            if line.hasSuffix("\r") { line = line.dropLast() }
            guard let colon = line.firstIndex(of: ":") else {
                if line.allSatisfy({ $0 == " " || $0 == "\t" || $0 == "\r" }) { continue }
                throw Failure(description: "policy line without a colon")
            }
            let key = line[..<colon].trimmingCharacters(in: .whitespaces)
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            switch key {
            case "version": version = value
            case "mode":
                guard let m = Mode(rawValue: value) else { throw Failure(description: "unknown policy mode \"\(value.prefix(20))\"") }
                mode = m
            case "max_age":
                guard !value.isEmpty, value.count <= 10, value.allSatisfy({ $0.isASCII && $0.isNumber }), let n = Int(value) else {
                    throw Failure(description: "max_age is not a number")
                }
                maxAge = min(n, maxAgeLimit)
            case "mx":
                guard isValidPattern(value) else { throw Failure(description: "invalid mx pattern \"\(value.prefix(80))\"") }
                mx.append(value.lowercased())
            default: continue  // extensions (RFC 8461 §3.2)
            }
        }
        guard version == "STSv1" else { throw Failure(description: "policy version is not STSv1") }
        guard let mode else { throw Failure(description: "policy without a mode") }
        guard let maxAge else { throw Failure(description: "policy without max_age") }
        guard mode == .none || !mx.isEmpty else { throw Failure(description: "policy without an mx line") }
        return MTASTSPolicy(mode: mode, mx: mx, maxAge: maxAge)
    }

    static func isValidPattern(_ pattern: String) -> Bool {
        var name = Substring(pattern)
        if name.hasPrefix("*.") { name = name.dropFirst(2) }
        guard !name.isEmpty, name.utf8.count <= 253 else { return false }
        return name.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
            (1...63).contains(label.utf8.count) && label.utf8.allSatisfy { $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_")
                || ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) }
        }
    }

    /// Whether an MX host name is allowed by one of the patterns (RFC 8461 §4.1): equal, or a
    /// `*.` pattern matching exactly one more label on the left. Case-insensitive; a final dot ignored.
    public func allows(_ host: String) -> Bool {
        var name = host.lowercased()
        if name.hasSuffix(".") { name.removeLast() }
        return mx.contains { pattern in
            if pattern.hasPrefix("*.") {
                let suffix = pattern.dropFirst(1)  // ".example.com"
                guard name.hasSuffix(suffix) else { return false }
                let first = name.dropLast(suffix.count)
                return !first.isEmpty && !first.contains(".")
            }
            return name == pattern
        }
    }
}

/// The `_mta-sts` TXT record (RFC 8461 §3.1): `v=STSv1; id=…`.
public struct MTASTSRecord: Sendable, Equatable {
    public var id: String
    public init(id: String) { self.id = id }

    /// The record among a name's TXT strings: exactly one starting with `v=STSv1` (else none).
    public static func find(in texts: [String]) -> MTASTSRecord? {
        let candidates = texts.filter { $0.hasPrefix("v=STSv1") }
        guard candidates.count == 1 else { return nil }
        return parse(candidates[0])
    }

    public static func parse(_ text: String) -> MTASTSRecord? {
        var version: String?, id: String?
        for field in text.split(separator: ";") {
            let parts = field.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2 else { continue }
            switch parts[0] {
            case "v": version = parts[1]
            case "id": id = parts[1]
            default: continue
            }
        }
        guard version == "STSv1", let id, (1...32).contains(id.count), id.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) else { return nil }
        return MTASTSRecord(id: id)
    }
}

/// Policies by domain, fetched when a domain's `_mta-sts` record names a new id and kept for
/// their `max_age` (RFC 8461 §5.1): a valid cached policy stays in force when the record
/// disappears or a fetch fails, so an attacker who blocks the record or the web server cannot
/// turn TLS off for a domain whose policy this node has seen. Kept in memory (a restart forgets).
public actor MTASTSPolicyCache {
    /// The TXT strings at a name (each record's strings joined); [] when there are none.
    public typealias TXTLookup = @Sendable (String) async throws -> [String]
    /// The policy text at an HTTPS URL (verified certificate, no redirects, at most 64 KB).
    public typealias Fetch = @Sendable (String) async throws -> String

    struct Entry { var policy: MTASTSPolicy; var id: String; var expires: Date }

    let txt: TXTLookup
    let fetch: Fetch
    var entries: [String: Entry] = [:]

    public init(txt: @escaping TXTLookup, fetch: @escaping Fetch) {
        self.txt = txt; self.fetch = fetch
    }

    /// The policy in force for `domain`, or nil when it has none.
    public func policy(for domain: String, now: Date = Date()) async -> MTASTSPolicy? {
        let domain = domain.lowercased()
        let cached = entries[domain].flatMap { $0.expires > now ? $0 : nil }
        let record: MTASTSRecord?
        do {
            record = MTASTSRecord.find(in: try await txt("_mta-sts.\(domain)"))
        } catch {
            return cached?.policy  // DNS trouble: keep what we know
        }
        guard let record else { return cached?.policy }
        if let cached, cached.id == record.id { return cached.policy }
        do {
            let policy = try MTASTSPolicy.parse(try await fetch("https://mta-sts.\(domain)/.well-known/mta-sts.txt"))
            entries[domain] = Entry(policy: policy, id: record.id, expires: now.addingTimeInterval(TimeInterval(policy.maxAge)))
            return policy
        } catch {
            return cached?.policy
        }
    }
}

import AsyncHTTPClient
import NIOCore
import NIOSSL

/// Fetches MTA-STS policies over HTTPS (RFC 8461 §3.3): the certificate verified for
/// `mta-sts.<domain>` (the system's CAs, plus `trustRoots`), no redirects, `text/plain`, at most
/// 64 KB, a minute at most. A client per fetch (they are rare: once per domain per `max_age`), so
/// nothing needs shutting down.
public struct MTASTSFetcher: Sendable {
    let configuration: HTTPClient.Configuration

    /// `connectTimeout` bounds the connection and its TLS handshake (a refused certificate is
    /// retried until then).
    public init(trustRoots: [String] = [], connectTimeout: TimeAmount = .seconds(20)) {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.minimumTLSVersion = .tlsv12
        tls.additionalTrustRoots = trustRoots.map { .file($0) }
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls, redirectConfiguration: .disallow,
                                                     timeout: .init(connect: connectTimeout, read: .seconds(30)))
        configuration.httpVersion = .http1Only
        self.configuration = configuration
    }

    public func fetch(_ url: String) async throws -> String {
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        do {
            let text = try await fetch(url, with: client)
            try? await client.shutdown()
            return text
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    func fetch(_ url: String, with client: HTTPClient) async throws -> String {
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "User-Agent", value: "Sealbox")
        let response = try await client.execute(request, timeout: .seconds(60))
        guard response.status == .ok else { throw MTASTSPolicy.Failure(description: "\(url) answered \(response.status.code)") }
        let type = response.headers.first(name: "Content-Type")?.lowercased() ?? ""
        guard type.hasPrefix("text/plain") else { throw MTASTSPolicy.Failure(description: "\(url) is not text/plain") }
        let body = try await response.body.collect(upTo: MTASTSPolicy.maxBytes)
        return String(decoding: body.readableBytesView, as: UTF8.self)
    }
}
