import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// JSON in and out for the API: bodies read up to a limit and decoded strictly, values encoded
/// with ISO 8601 dates, and every error answered as `HTTPAPIError` JSON.
extension HTTPServer {
    /// The largest JSON request body the API reads.
    public static let maxJSONBodyBytes = 64 << 10

    static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.dateEncodingStrategy = .iso8601
        e.outputFormatting = [.sortedKeys]
        return e
    }()

    static let decoder: JSONDecoder = {
        let d = JSONDecoder()
        d.dateDecodingStrategy = .iso8601
        return d
    }()

    /// A JSON response.
    static func json(_ value: some Encodable, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) throws -> Response {
        var fields = headers
        fields[.contentType] = "application/json; charset=utf-8"
        fields[.cacheControl] = "no-store"
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: try encoder.encode(value))))
    }

    static func noContent(headers: HTTPFields = [:]) -> Response {
        var fields = headers
        fields[.cacheControl] = "no-store"
        return Response(status: .noContent, headers: fields)
    }

    /// The request's JSON body as `T`: `application/json` only (a cross-site form cannot send it
    /// without a CORS preflight, which this server never grants), at most `maxJSONBodyBytes`.
    static func decode<T: Decodable>(_ type: T.Type, from request: Request) async throws -> T {
        guard let contentType = request.headers[.contentType]?.lowercased(),
              contentType == "application/json" || contentType.hasPrefix("application/json;") else {
            throw HTTPAPIError(.unsupportedMediaType, code: "unsupported_media_type", "send the body as application/json")
        }
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: maxJSONBodyBytes)
        } catch {
            throw HTTPAPIError(.contentTooLarge, code: "body_too_large", "the request body is over \(maxJSONBodyBytes) bytes")
        }
        do {
            return try decoder.decode(T.self, from: Data(buffer: buffer))
        } catch let error as DecodingError {
            throw HTTPAPIError(.badRequest, code: "invalid_json", "the body is not the expected JSON: \(describe(error))")
        }
    }

    /// A decoding error in a line that names the field, never echoing values.
    static func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            let p = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
            return p.isEmpty ? "the body" : p
        }
        switch error {
        case .keyNotFound(let key, let context):
            let parent = path(context)
            return "missing field \(parent == "the body" ? key.stringValue : parent + "." + key.stringValue)"
        case .typeMismatch(_, let context): return "\(path(context)) has the wrong type"
        case .valueNotFound(_, let context): return "\(path(context)) is null"
        case .dataCorrupted(let context): return context.codingPath.isEmpty ? "malformed JSON" : "\(path(context)) is not valid"
        @unknown default: return "malformed JSON"
        }
    }

    /// Runs a route body: backend refusals become their HTTP errors, anything unexpected a 500
    /// whose text says nothing of the cause (logged by type only).
    func api(_ body: () async throws -> Response) async throws -> Response {
        do {
            return try await body()
        } catch let error as HTTPAPIError {
            throw error
        } catch let error as HTTPBackendError {
            throw Self.apiError(error)
        } catch {
            logger.error("HTTP API: unexpected error", metadata: ["http.error": "\(type(of: error))"])
            throw HTTPAPIError(.internalServerError, code: "internal_error", "the server could not do this; see its log")
        }
    }

    static func apiError(_ error: HTTPBackendError) -> HTTPAPIError {
        let status: HTTPResponse.Status = switch error.code {
        case .invalid: .badRequest
        case .notFound: .notFound
        case .conflict: .conflict
        case .limitExceeded: .unprocessableContent
        case .unavailable: .serviceUnavailable
        }
        return HTTPAPIError(status, code: error.code.rawValue, error.message)
    }

    /// A path parameter, percent-decoded, at most `limit` bytes.
    static func parameter(_ name: String, _ context: SealboxRequestContext, limit: Int = 320) throws -> String {
        guard let raw = context.parameters.get(name), let value = raw.removingPercentEncoding, !value.isEmpty, value.utf8.count <= limit else {
            throw HTTPAPIError(.badRequest, code: "invalid_request", "bad \(name) in the path")
        }
        return value
    }

    /// The query parameters as HTML forms send them (application/x-www-form-urlencoded: `+` is a
    /// space, `%2B` a plus), the first value of each name; at most 8 KiB of query.
    static func query(_ request: Request) throws -> [String: String] {
        guard let raw = request.uri.query, !raw.isEmpty else { return [:] }
        guard raw.utf8.count <= 8192 else { throw HTTPAPIError(.badRequest, code: "invalid_request", "the query string is too long") }
        var out: [String: String] = [:]
        for pair in raw.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ s: Substring) throws -> String {
                guard let text = s.replacingOccurrences(of: "+", with: " ").removingPercentEncoding else {
                    throw HTTPAPIError(.badRequest, code: "invalid_request", "malformed percent-encoding in the query")
                }
                return text
            }
            let name = try decode(parts[0])
            if out[name] == nil { out[name] = parts.count == 2 ? try decode(parts[1]) : "" }
        }
        return out
    }

    /// A boolean query parameter (`true`/`false`/`1`/`0`), default false.
    static func flag(_ name: String, _ request: Request) throws -> Bool {
        guard let value = try query(request)[name] else { return false }
        switch value.lowercased() {
        case "true", "1": return true
        case "false", "0": return false
        default: throw HTTPAPIError(.badRequest, code: "invalid_request", "\(name) must be true or false")
        }
    }
}
