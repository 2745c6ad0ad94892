import Foundation

/// Whether and how to answer a `vacation` action (RFC 5230 §4, RFC 3834).
public enum SieveVacationDecision: Sendable, Hashable {
    case send(SieveVacationReply)
    /// Why no reply goes out (for the log: a rule name, never an address).
    case suppress(reason: String)
}

/// A vacation reply ready for the outbound queue.
public struct SieveVacationReply: Sendable, Hashable {
    /// The envelope recipient: the original message's envelope sender.
    public var to: String
    /// The reply's envelope sender: "" (null return path, RFC 5230 §5.1 recommends it).
    public var returnPath: String
    /// The whole reply, CRLF line ends, headers included (`Auto-Submitted: auto-replied`,
    /// `In-Reply-To`, `References`, `Subject`, `From`, `To`, `Date`, `Message-ID`, MIME).
    public var message: [UInt8]
    /// What the "already answered" memory keys this reply on (sender + handle), unhashed: the
    /// host hashes it with its own key. Remembered for `periodSeconds`.
    public var memoryKey: String
    public var periodSeconds: Int

    public init(to: String, returnPath: String = "", message: [UInt8], memoryKey: String, periodSeconds: Int) {
        self.to = to; self.returnPath = returnPath; self.message = message; self.memoryKey = memoryKey; self.periodSeconds = periodSeconds
    }
}
