import AsyncHTTPClient

/// The backups' HTTP client (S3 destinations): one, never shut down, because its users are
/// values that may be copied or dropped anywhere and own no lifecycle. Connection failures are not
/// retried inside the client (it would keep trying until the request's deadline, so an endpoint
/// that is down would hold a request for minutes); callers retry with their own backoff.
public enum SharedHTTPClient {
    public static let client: HTTPClient = {
        var config = HTTPClient.Configuration()
        config.timeout = .init(connect: .seconds(15), read: .seconds(120))
        config.decompression = .disabled
        config.connectionPool.retryConnectionEstablishment = false
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: config)
    }()
}
