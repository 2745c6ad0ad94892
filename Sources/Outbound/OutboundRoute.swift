import MailboxAPI

/// How an SMTP job (a forward, a bounce, a submitted message) leaves the node: the seam between
/// the queue's retry logic and the way out. Today the only route is the smarthost
/// (`smtp.relay.host`); delivery straight to the recipients' MX hosts is the next piece (it needs
/// the DNS resolver) and plugs in here as another route.
public protocol OutboundRoute: Sendable {
    /// For logs: "relay mail.example.net:587".
    var name: String { get }
    /// Sends the message to `recipients` with the envelope sender `from`: each recipient's
    /// result, or a `SMTPRelayClient.RelayError` for the whole attempt (temporary unless `permanent`).
    func send(from: String, recipients: [String], message: [UInt8]) async throws -> [String: SMTPRelayClient.RecipientResult]
}

/// The smarthost route.
public struct RelayRoute: OutboundRoute {
    public let configuration: SMTPRelayClient.Configuration
    public init(configuration: SMTPRelayClient.Configuration) { self.configuration = configuration }
    public var name: String { "relay \(configuration.host):\(configuration.port)" }
    public func send(from: String, recipients: [String], message: [UInt8]) async throws -> [String: SMTPRelayClient.RecipientResult] {
        try await SMTPRelayClient(configuration: configuration).send(from: from, recipients: recipients, message: message)
    }
}

extension OutboundJob {
    /// A message an authenticated user submitted (RFC 6409), as opposed to a forward or a bounce.
    public var isSubmission: Bool { context["submittedBy"] != nil }
}

/// Delivery to the node's own addresses, for outbound jobs that name some: a bounce to a local
/// sender, a forward or a submitted message to a local alias. The node's inbound handler does it,
/// as if the message had arrived over SMTP.
public protocol LocalDelivery: Sendable {
    /// Which of `recipients` belong to the node's own domains.
    func localRecipients(_ recipients: [String]) async -> Set<String>
    /// Delivers to those, each recipient's result (never throws: a failure is a result).
    func deliver(from: String, recipients: [String], message: [UInt8], queueID: String) async -> [String: SMTPRelayClient.RecipientResult]
}
