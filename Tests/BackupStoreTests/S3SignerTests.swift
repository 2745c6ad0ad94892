@testable import BackupStore
import Foundation
import TestSupport
import Testing

@Suite("SigV4 signing")
struct S3SignerTests {
    static let vectorSigner = S3Signer(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                                       region: "us-east-1", service: "service")

    @Test("AWS SigV4 test suite: get-vanilla")
    func getVanilla() {
        let auth = Self.vectorSigner.authorization(method: "GET", path: "/", query: [],
                                                   headers: [("Host", "example.amazonaws.com"), ("X-Amz-Date", "20150830T123600Z")],
                                                   payloadHash: S3Signer.emptyPayloadHash, amzDate: "20150830T123600Z")
        #expect(auth == "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
            + "SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31")
    }

    @Test("AWS SigV4 test suite: get-vanilla-query-order-key-case (parameters sorted)")
    func queryOrder() {
        let auth = Self.vectorSigner.authorization(method: "GET", path: "/", query: [("Param2", "value2"), ("Param1", "value1")],
                                                   headers: [("Host", "example.amazonaws.com"), ("X-Amz-Date", "20150830T123600Z")],
                                                   payloadHash: S3Signer.emptyPayloadHash, amzDate: "20150830T123600Z")
        #expect(auth.hasSuffix("Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"))
    }

    @Test("URI encoding: unreserved kept, everything else %XX, slash kept only in paths")
    func encoding() {
        #expect(S3Signer.uriEncode("a b/c~d_e-f.g+h=é", keepSlash: true) == "a%20b/c~d_e-f.g%2Bh%3D%C3%A9")
        #expect(S3Signer.uriEncode("a/b", keepSlash: false) == "a%2Fb")
        #expect(S3Signer.canonicalQuery([("uploads", ""), ("b", "2"), ("a", "1 2")]) == "a=1%202&b=2&uploads=")
    }

    @Test("path-style and virtual-host URLs")
    func urls() async throws {
        var c = S3Configuration(bucket: "my-bucket", prefix: "p/", endpoint: "http://127.0.0.1:9000", accessKeyID: "k", secretAccessKey: "s")
        c.pathStyle = true
        let path = try S3Destination(configuration: c)
        #expect(path.location("a b/c.sqlite") == ("127.0.0.1:9000", "/my-bucket/p/a%20b/c.sqlite"))
        #expect(path.location(nil) == ("127.0.0.1:9000", "/my-bucket"))
        let request = path.signedRequest(method: .GET, key: "x", query: [("list-type", "2")], payloadHash: S3Signer.emptyPayloadHash)
        #expect(request.url == "http://127.0.0.1:9000/my-bucket/p/x?list-type=2")
        c.pathStyle = false
        c.endpoint = nil
        c.region = "eu-west-3"
        let virtual = try S3Destination(configuration: c)
        #expect(virtual.location("k") == ("my-bucket.s3.eu-west-3.amazonaws.com", "/p/k"))
        #expect(virtual.location(nil) == ("my-bucket.s3.eu-west-3.amazonaws.com", "/"))
        try await path.shutdown()
        try await virtual.shutdown()
    }

    @Test("the secret never shows in a description")
    func redaction() {
        let c = S3Configuration(bucket: "b", accessKeyID: "AKID", secretAccessKey: "super-secret-value")
        #expect(!"\(c)".contains("super-secret-value") && !String(reflecting: c).contains("super-secret-value"))
    }

    /// botocore (installed with moto/boto3) signs the same requests; the Authorization headers must match.
    @Test("the same signatures as botocore for S3 requests", .enabled(if: Python.botocore != nil, "python3 with botocore is not installed"))
    func botocore() async throws {
        let date = Date(timeIntervalSince1970: 1_795_000_000)
        var c = S3Configuration(bucket: "sealbox-test", prefix: "nightly/", endpoint: "http://127.0.0.1:9000", region: "eu-central-1",
                                accessKeyID: "AKIDTEST", secretAccessKey: "secret/with+chars", pathStyle: true)
        c.partSize = 5 << 20
        let destination = try S3Destination(configuration: c)
        let body = Array("hello world".utf8)
        let cases: [(String, String?, [(String, String)], [(String, String)], [UInt8])] = [
            ("PUT", "mailboxes/ab/20261122T101500Z/mailbox.sqlite", [], [("x-amz-meta-sha256", "abc123"), ("x-amz-meta-kind", "unlocked")], body),
            ("GET", "index/a b+c.json", [], [], []),
            ("GET", nil, [("list-type", "2"), ("prefix", "nightly/mailboxes/"), ("continuation-token", "1/2+3="), ("max-keys", "2")], [], []),
            ("POST", "big.sqlite", [("uploads", "")], [], []),
            ("PUT", "big.sqlite", [("partNumber", "2"), ("uploadId", "xyz~/=")], [], body),
        ]
        for (method, key, query, headers, payload) in cases {
            let request = destination.signedRequest(method: .init(rawValue: method), key: key, query: query, headers: headers,
                                                    payloadHash: S3Signer.sha256Hex(payload), date: date)
            let ours = request.headers.first(name: "Authorization") ?? ""
            var signedHeaders: [String: String] = [:]
            for h in request.headers where h.name.lowercased() != "authorization" { signedHeaders[h.name.lowercased()] = h.value }
            let theirs = try Python.botocoreSign(method: method, url: request.url, headers: signedHeaders, body: payload,
                                                 region: c.region, accessKey: c.accessKeyID, secretKey: c.secretAccessKey,
                                                 amzDate: S3Signer.amzDate(date))
            #expect(ours == theirs, "\(method) \(request.url)")
        }
        try await destination.shutdown()
    }
}

enum Python {
    static let executable: String = ProcessInfo.processInfo.environment["SEALBOX_TEST_PYTHON"] ?? "/usr/bin/env"
    static var arguments: [String] { executable.hasSuffix("/env") ? ["python3"] : [] }

    /// The python that has botocore, or nil.
    static let botocore: String? = {
        for python in [ProcessInfo.processInfo.environment["SEALBOX_TEST_PYTHON"], "/usr/bin/python3", "python3"].compactMap({ $0 }) {
            if (try? run(python, ["-c", "import botocore"], input: Data())) != nil { return python }
        }
        return nil
    }()

    static func run(_ python: String, _ args: [String], input: Data) throws -> String {
        let r = try ChildProcess.spawn(python, args, stdin: Array(input)).waitBlocking(timeout: .seconds(120))
        guard r.ok else { throw CocoaError(.fileReadUnknown, userInfo: ["output": r.stdout + r.stderr]) }
        return r.stdout
    }

    static func botocoreSign(method: String, url: String, headers: [String: String], body: [UInt8], region: String,
                             accessKey: String, secretKey: String, amzDate: String) throws -> String {
        let script = """
            import json, sys, datetime
            from unittest import mock
            from botocore.auth import S3SigV4Auth
            from botocore.awsrequest import AWSRequest
            from botocore.credentials import Credentials
            spec = json.load(sys.stdin)
            headers = {k: v for k, v in spec["headers"].items() if k not in ("x-amz-date",)}
            req = AWSRequest(method=spec["method"], url=spec["url"], data=bytes(spec["body"]), headers=headers)
            auth = S3SigV4Auth(Credentials(spec["ak"], spec["sk"]), "s3", spec["region"])
            fixed = datetime.datetime.strptime(spec["date"], "%Y%m%dT%H%M%SZ")
            import botocore.auth as ba
            if hasattr(ba, "get_current_datetime"):
                ba.get_current_datetime = lambda *a, **k: fixed
            with mock.patch("botocore.auth.datetime") as dt:
                dt.datetime.utcnow.return_value = fixed
                dt.datetime.now.return_value = fixed
                dt.timezone = datetime.timezone
                auth.add_auth(req)
            print(req.headers["Authorization"])
            """
        let spec: [String: Any] = ["method": method, "url": url, "headers": headers, "body": body.map { Int($0) }, "region": region,
                                   "ak": accessKey, "sk": secretKey, "date": amzDate]
        let input = try JSONSerialization.data(withJSONObject: spec)
        return try run(botocore ?? "python3", ["-c", script], input: input).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
