import Foundation
import HTTPTypes
import Hummingbird

/// An API error: its HTTP status, a stable code (`invalid_request`, `unauthorized`, `not_found`,
/// `throttled`…) and a human message. Never carries a password, token or message content. Sent as
/// `{"error": {"code": "...", "message": "..."}}`.
public struct HTTPAPIError: Error, HTTPResponseError, Sendable {
    public var status: HTTPResponse.Status
    public var code: String
    public var message: String
    /// Extra response headers (`WWW-Authenticate`, `Retry-After`).
    public var headers: HTTPFields

    public init(_ status: HTTPResponse.Status, code: String, _ message: String, headers: HTTPFields = [:]) {
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        let data = try JSONEncoder().encode(HTTPAPIErrorBody(error: .init(code: code, message: message)))
        var fields = headers
        fields[.contentType] = "application/json; charset=utf-8"
        fields[.cacheControl] = "no-store"
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// The JSON body of an `HTTPAPIError`.
struct HTTPAPIErrorBody: Codable {
    struct Inner: Codable { let code: String; let message: String }
    let error: Inner
}
