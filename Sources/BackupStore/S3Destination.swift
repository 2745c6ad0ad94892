import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore
import NIOHTTP1

/// Where and how to reach an S3-compatible store.
public struct S3Configuration: Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    public var bucket: String
    /// "" or "a/b/": the destination's keys are relative to it.
    public var prefix: String
    /// e.g. "http://127.0.0.1:9000"; nil: "https://s3.<region>.amazonaws.com".
    public var endpoint: String?
    public var region: String
    public var accessKeyID: String
    public var secretAccessKey: String
    /// true: endpoint/bucket/key; false: bucket.endpoint-host/key (AWS's default style).
    public var pathStyle: Bool
    /// Part size of multipart uploads (S3's minimum is 5 MiB).
    public var partSize: Int
    /// Files above this go up in parts.
    public var multipartThreshold: Int
    /// Parts of one multipart upload in flight at once (each held in memory: `concurrency` ×
    /// `partSize` bytes at most).
    public var concurrency: Int

    public init(bucket: String, prefix: String = "", endpoint: String? = nil, region: String = "us-east-1",
                accessKeyID: String, secretAccessKey: String, pathStyle: Bool = false,
                partSize: Int = 16 << 20, multipartThreshold: Int = 64 << 20, concurrency: Int = 4) {
        self.bucket = bucket; self.prefix = prefix; self.endpoint = endpoint; self.region = region
        self.accessKeyID = accessKeyID; self.secretAccessKey = secretAccessKey; self.pathStyle = pathStyle
        self.partSize = partSize; self.multipartThreshold = multipartThreshold; self.concurrency = concurrency
    }

    /// Never shows the secret.
    public var description: String {
        "S3Configuration(bucket: \(bucket), prefix: \(prefix), endpoint: \(endpoint ?? "AWS"), region: \(region), "
            + "accessKeyID: \(accessKeyID), secretAccessKey: <redacted>, pathStyle: \(pathStyle), concurrency: \(concurrency))"
    }
    public var debugDescription: String { description }
}

/// Backups in an S3-compatible object store, over async-http-client (its shared client) with SigV4 signing.
public struct S3Destination: BackupDestination {
    public let configuration: S3Configuration
    let client: HTTPClient
    let signer: S3Signer
    let scheme: String
    let host: String
    let port: Int?
    /// Keys per ListObjectsV2 page (tests lower it to exercise pagination).
    public var listPageSize = 1000
    /// Told the number of parts in flight each time a part starts (the tests watch the concurrency).
    var partStarted: (@Sendable (_ inFlight: Int) -> Void)?

    public var displayName: String { "s3://\(configuration.bucket)/\(configuration.prefix)" }

    public init(configuration: S3Configuration) throws {
        guard !configuration.bucket.isEmpty else { throw BackupStoreError(.invalidConfiguration, "S3: no bucket") }
        guard !configuration.accessKeyID.isEmpty, !configuration.secretAccessKey.isEmpty else {
            throw BackupStoreError(.invalidConfiguration, "S3: access key id and secret access key are required")
        }
        guard configuration.partSize >= 5 << 20 else { throw BackupStoreError(.invalidConfiguration, "S3: the part size must be at least 5 MiB") }
        guard (1...64).contains(configuration.concurrency) else {
            throw BackupStoreError(.invalidConfiguration, "S3: the upload concurrency must be 1 to 64, got \(configuration.concurrency)")
        }
        let endpoint = configuration.endpoint ?? "https://s3.\(configuration.region).amazonaws.com"
        guard let url = URLComponents(string: endpoint), let scheme = url.scheme, ["http", "https"].contains(scheme), let host = url.host, !host.isEmpty else {
            throw BackupStoreError(.invalidConfiguration, "S3: the endpoint must be an http(s) URL, got \(endpoint)")
        }
        self.configuration = configuration
        self.scheme = scheme
        self.host = host
        self.port = url.port
        self.signer = S3Signer(accessKeyID: configuration.accessKeyID, secretAccessKey: configuration.secretAccessKey,
                               region: configuration.region)
        client = Self.sharedClient
    }

    // MARK: - Requests

    /// The host (with port) and encoded path of an object key (nil key: the bucket).
    func location(_ key: String?) -> (host: String, path: String) {
        let hostPort = host + (port.map { ":\($0)" } ?? "")
        let objectPath = key.map { "/" + S3Signer.uriEncode(configuration.prefix + $0, keepSlash: true) } ?? ""
        if configuration.pathStyle {
            return (hostPort, "/" + S3Signer.uriEncode(configuration.bucket, keepSlash: false) + objectPath)
        }
        return (configuration.bucket + "." + hostPort, objectPath.isEmpty ? "/" : objectPath)
    }

    /// Builds and signs a request (the URL and the signed headers), for `execute` and the tests.
    func signedRequest(method: HTTPMethod, key: String?, query: [(String, String)] = [], headers extra: [(String, String)] = [],
                       payloadHash: String, date: Date = Date()) -> HTTPClientRequest {
        let (hostHeader, path) = location(key)
        let amzDate = S3Signer.amzDate(date)
        var signed: [(String, String)] = [("host", hostHeader), ("x-amz-date", amzDate), ("x-amz-content-sha256", payloadHash)]
        signed += extra.map { ($0.0.lowercased(), $0.1) }
        let authorization = signer.authorization(method: method.rawValue, path: path, query: query, headers: signed,
                                                 payloadHash: payloadHash, amzDate: amzDate)
        let queryString = query.isEmpty ? "" : "?" + S3Signer.canonicalQuery(query)
        var request = HTTPClientRequest(url: "\(scheme)://\(hostHeader)\(path)\(queryString)")
        request.method = method
        for (name, value) in signed where name != "host" { request.headers.add(name: name, value: value) }
        request.headers.add(name: "Authorization", value: authorization)
        return request
    }

    struct Response {
        var status: HTTPResponseStatus
        var headers: HTTPHeaders
        var body: [UInt8]
    }

    /// Sends a request with retries on transport errors and 5xx (the body is small or in memory).
    func send(_ method: HTTPMethod, key: String?, query: [(String, String)] = [], headers: [(String, String)] = [],
              body: [UInt8] = [], what: String) async throws -> Response {
        try await send(method, key: key, query: query, headers: headers, body: ByteBuffer(bytes: body), what: what)
    }

    /// The same with the body in a ByteBuffer (a part read from the file straight into it: no copy).
    func send(_ method: HTTPMethod, key: String?, query: [(String, String)] = [], headers: [(String, String)] = [],
              body: ByteBuffer, what: String) async throws -> Response {
        let hash = body.withUnsafeReadableBytes { S3Signer.hex(SHA256.hash(data: $0)) }
        var attempt = 0
        while true {
            attempt += 1
            var request = signedRequest(method: method, key: key, query: query, headers: headers, payloadHash: hash)
            if body.readableBytes > 0 || method == .PUT || method == .POST {
                request.body = .bytes(body)
                request.headers.replaceOrAdd(name: "Content-Length", value: String(body.readableBytes))
            }
            do {
                let response = try await client.execute(request, timeout: .seconds(body.readableBytes > 8 << 20 ? 900 : 120))
                let data = try await response.body.collect(upTo: 64 << 20)
                let result = Response(status: response.status, headers: response.headers, body: Array(data.readableBytesView))
                if response.status.code >= 500 && attempt < 4 {
                    try await Task.sleep(for: .milliseconds(250 << attempt))
                    continue
                }
                return result
            } catch let error as BackupStoreError {
                throw error
            } catch {
                if attempt < 4 {
                    try await Task.sleep(for: .milliseconds(250 << attempt))
                    continue
                }
                throw BackupStoreError(.transport, "\(what) at \(displayName): cannot reach \(scheme)://\(host)\(port.map { ":\($0)" } ?? "") (\(Self.describe(error)))")
            }
        }
    }

    static func describe(_ error: any Error) -> String {
        let text = "\(error)"
        return text.count > 200 ? String(text.prefix(200)) + "…" : text
    }

    /// A failed response as one line: S3's error code and message, never the request's signature.
    func failure(_ response: Response, _ what: String, key: String?) -> BackupStoreError {
        let xml = String(decoding: response.body, as: UTF8.self)
        let code = XMLText.first("Code", in: xml) ?? "HTTP \(response.status.code)"
        let message = XMLText.first("Message", in: xml).map { ": \($0)" } ?? ""
        let object = key.map { " \($0)" } ?? ""
        switch response.status.code {
        case 404: return BackupStoreError(.notFound, "\(what)\(object) at \(displayName): not found (\(code)\(message))")
        case 401, 403: return BackupStoreError(.accessDenied, "\(what)\(object) at \(displayName): access denied (\(code)\(message))")
        default: return BackupStoreError(.server, "\(what)\(object) at \(displayName): \(code)\(message)")
        }
    }

    static func metadataHeaders(_ metadata: [String: String]) throws -> [(String, String)] {
        try metadata.sorted { $0.key < $1.key }.map { key, value in
            guard !key.isEmpty, key.utf8.allSatisfy({ ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D }),
                  value.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) else {
                throw BackupStoreError(.invalidConfiguration, "invalid metadata \(key)")
            }
            return ("x-amz-meta-" + key, value)
        }
    }

    // MARK: - Bucket

    /// Creates the bucket (for tests and first-time setup); an existing bucket of ours is fine.
    public func createBucket() async throws {
        var body: [UInt8] = []
        if configuration.region != "us-east-1" {
            body = Array("<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><LocationConstraint>\(configuration.region)</LocationConstraint></CreateBucketConfiguration>".utf8)
        }
        let response = try await send(.PUT, key: nil, body: body, what: "create bucket")
        guard response.status.code < 300 || XMLText.first("Code", in: String(decoding: response.body, as: UTF8.self)) == "BucketAlreadyOwnedByYou" else {
            throw failure(response, "create bucket", key: nil)
        }
    }

    // MARK: - Objects

    public func put(key: String, data: [UInt8], metadata: [String: String]) async throws {
        let response = try await send(.PUT, key: key, headers: try Self.metadataHeaders(metadata), body: data, what: "upload")
        guard response.status.code < 300 else { throw failure(response, "upload", key: key) }
    }

    public func put(key: String, file path: String, metadata: [String: String], progress: TransferProgress?) async throws {
        guard let input = FileHandle(forReadingAtPath: path) else { throw BackupStoreError(.notFound, "cannot read \(path)") }
        defer { try? input.close() }
        let total = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int64) ?? 0
        if total <= Int64(configuration.multipartThreshold) {
            let data = Array(try input.readToEnd() ?? Data())
            try await put(key: key, data: data, metadata: metadata)
            progress?(Int64(data.count), total)
            return
        }
        // Multipart: up to `concurrency` parts in flight, each read from the file when its turn
        // comes (memory: concurrency × partSize); any failure aborts the upload (nothing left behind).
        let created = try await send(.POST, key: key, query: [("uploads", "")], headers: try Self.metadataHeaders(metadata), what: "start upload")
        guard created.status.code < 300, let uploadID = XMLText.first("UploadId", in: String(decoding: created.body, as: UTF8.self)) else {
            throw failure(created, "start upload", key: key)
        }
        do {
            let partSize = Int64(configuration.partSize)
            let count = Int((total + partSize - 1) / partSize)
            let fd = input.fileDescriptor
            var etags = [String?](repeating: nil, count: count)
            var done: Int64 = 0
            try await withThrowingTaskGroup(of: (Int, String, Int).self) { group in
                var next = 0, inFlight = 0
                func start() {
                    let index = next
                    next += 1
                    inFlight += 1
                    partStarted?(inFlight)
                    group.addTask {
                        let offset = Int64(index) * partSize
                        let body = try Self.readPart(fd: fd, offset: offset, count: Int(min(partSize, total - offset)))
                        let number = index + 1
                        let response = try await send(.PUT, key: key, query: [("partNumber", String(number)), ("uploadId", uploadID)],
                                                      body: body, what: "upload part \(number)")
                        guard response.status.code < 300, let etag = response.headers.first(name: "ETag") else {
                            throw failure(response, "upload part \(number)", key: key)
                        }
                        return (index, etag, body.readableBytes)
                    }
                }
                while next < min(count, configuration.concurrency) { start() }
                while let finished = try await group.next() {
                    let (index, etag, bytes) = finished
                    inFlight -= 1
                    etags[index] = etag
                    done += Int64(bytes)
                    progress?(done, total)
                    if next < count { start() }
                }
            }
            guard done == total else {
                throw BackupStoreError(.corrupt, "upload \(key) at \(displayName): read \(done) of \(total) bytes (the file changed)")
            }
            let body = "<CompleteMultipartUpload>" + etags.enumerated().map {
                "<Part><PartNumber>\($0.offset + 1)</PartNumber><ETag>\(XMLText.escape($0.element ?? ""))</ETag></Part>"
            }.joined() + "</CompleteMultipartUpload>"
            let completed = try await send(.POST, key: key, query: [("uploadId", uploadID)], body: Array(body.utf8), what: "complete upload")
            // S3 may answer 200 with an error document.
            guard completed.status.code < 300, XMLText.first("Error", in: String(decoding: completed.body, as: UTF8.self)) == nil,
                  !String(decoding: completed.body, as: UTF8.self).contains("<Error>") else {
                throw failure(completed, "complete upload", key: key)
            }
        } catch {
            _ = try? await send(.DELETE, key: key, query: [("uploadId", uploadID)], what: "abort upload")
            throw error
        }
    }

    /// `count` bytes of the file at `offset`, read straight into the buffer the request sends
    /// (pread: parts in flight read side by side).
    static func readPart(fd: Int32, offset: Int64, count: Int) throws -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: count)
        while buffer.readableBytes < count {
            let done = buffer.readableBytes
            _ = try buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: count - done) { target in
                let n = pread(fd, target.baseAddress, count - done, off_t(offset + Int64(done)))
                if n < 0 && errno == EINTR { return 0 }
                guard n > 0 else { throw BackupStoreError(.transport, "cannot read the file to upload (errno \(errno))") }
                return n
            }
        }
        return buffer
    }

    public func get(key: String) async throws -> [UInt8] {
        let response = try await send(.GET, key: key, what: "download")
        guard response.status.code < 300 else { throw failure(response, "download", key: key) }
        return response.body
    }

    @discardableResult
    public func get(key: String, to path: String, progress: TransferProgress?) async throws -> (size: Int64, sha256: String) {
        var attempt = 0
        while true {
            attempt += 1
            let request = signedRequest(method: .GET, key: key, payloadHash: S3Signer.emptyPayloadHash)
            do {
                let response = try await client.execute(request, timeout: .hours(6))
                guard response.status.code < 300 else {
                    let body = try await response.body.collect(upTo: 1 << 20)
                    let failed = Response(status: response.status, headers: response.headers, body: Array(body.readableBytesView))
                    if response.status.code >= 500 && attempt < 4 { try await Task.sleep(for: .milliseconds(250 << attempt)); continue }
                    throw failure(failed, "download", key: key)
                }
                let total = response.headers.first(name: "Content-Length").flatMap { Int64($0) } ?? 0
                guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]),
                      let out = FileHandle(forWritingAtPath: path) else { throw BackupStoreError(.transport, "cannot write \(path)") }
                defer { try? out.close() }
                var done: Int64 = 0
                var hash = SHA256()
                for try await chunk in response.body {
                    try out.write(contentsOf: Data(chunk.readableBytesView))
                    chunk.withUnsafeReadableBytes { hash.update(bufferPointer: $0) }
                    done += Int64(chunk.readableBytes)
                    progress?(done, total)
                }
                try out.synchronize()
                if total > 0 && done != total {
                    throw BackupStoreError(.corrupt, "download \(key) at \(displayName): got \(done) of \(total) bytes")
                }
                return (done, hash.finalize().map { String(format: "%02x", $0) }.joined())
            } catch let error as BackupStoreError {
                throw error
            } catch {
                if attempt < 4 { try await Task.sleep(for: .milliseconds(250 << attempt)); continue }
                throw BackupStoreError(.transport, "download \(key) at \(displayName): \(Self.describe(error))")
            }
        }
    }

    public func head(key: String) async throws -> [String: String]? {
        let response = try await send(.HEAD, key: key, what: "look up")
        if response.status.code == 404 { return nil }
        guard response.status.code < 300 else { throw failure(response, "look up", key: key) }
        var metadata: [String: String] = [:]
        for header in response.headers where header.name.lowercased().hasPrefix("x-amz-meta-") {
            metadata[String(header.name.lowercased().dropFirst("x-amz-meta-".count))] = header.value
        }
        return metadata
    }

    public func list(prefix: String) async throws -> [StoredObject] {
        var objects: [StoredObject] = []
        var token: String?
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let plain = ISO8601DateFormatter()
        repeat {
            var query = [("list-type", "2"), ("prefix", configuration.prefix + prefix), ("max-keys", String(listPageSize))]
            if let token { query.append(("continuation-token", token)) }
            let response = try await send(.GET, key: nil, query: query, what: "list")
            guard response.status.code < 300 else { throw failure(response, "list", key: nil) }
            let xml = String(decoding: response.body, as: UTF8.self)
            for block in XMLText.all("Contents", in: xml) {
                guard let fullKey = XMLText.first("Key", in: block), fullKey.hasPrefix(configuration.prefix) else { continue }
                let modified = XMLText.first("LastModified", in: block).flatMap { formatter.date(from: $0) ?? plain.date(from: $0) }
                objects.append(StoredObject(key: String(fullKey.dropFirst(configuration.prefix.count)),
                                            size: XMLText.first("Size", in: block).flatMap { Int64($0) } ?? 0,
                                            lastModified: modified ?? .distantPast))
            }
            token = XMLText.first("IsTruncated", in: xml) == "true" ? XMLText.first("NextContinuationToken", in: xml) : nil
        } while token != nil
        return objects.sorted { $0.key < $1.key }
    }

    public func delete(key: String) async throws {
        let response = try await send(.DELETE, key: key, what: "delete")
        guard response.status.code < 300 || response.status.code == 404 else { throw failure(response, "delete", key: key) }
    }

    static var sharedClient: HTTPClient { SharedHTTPClient.client }

    /// Nothing to release (see `sharedClient`).
    public func shutdown() async throws {}
}

/// The little XML S3 answers with: element text by name (S3's documents are flat and well-formed).
enum XMLText {
    static func all(_ name: String, in xml: String) -> [String] {
        var results: [String] = []
        var rest = xml[...]
        while let open = rest.range(of: "<\(name)>"), let close = rest[open.upperBound...].range(of: "</\(name)>") {
            results.append(String(rest[open.upperBound..<close.lowerBound]))
            rest = rest[close.upperBound...]
        }
        return results
    }

    static func first(_ name: String, in xml: String) -> String? { all(name, in: xml).first.map(unescape) }

    static func unescape(_ text: String) -> String {
        text.replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
            .replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&apos;", with: "'")
            .replacingOccurrences(of: "&#34;", with: "\"").replacingOccurrences(of: "&amp;", with: "&")
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
