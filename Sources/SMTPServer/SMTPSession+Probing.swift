import Logging
import SMTPCore

/// How the MX answers a client that probes for addresses (recipient enumeration): after
/// `tarpitAfter` refused recipients in a session each further refusal is answered late (the delay
/// grows by `tarpitStep` per refusal up to `tarpitMax`); past `closeAfter` the session ends with
/// 421 4.7.0. Across sessions, one address may have `perIPLimit` refusals in `perIPWindow`; past
/// that, its next refusal ends the session too. Accepted recipients are never delayed.
public struct SMTPProbePolicy: Sendable, Hashable {
    public var tarpitAfter = 10
    public var closeAfter = 20
    public var tarpitStep: Duration = .seconds(1)
    public var tarpitMax: Duration = .seconds(5)
    /// Refused recipients per client address in `perIPWindow` (nil: no limit across sessions).
    public var perIPLimit: Int? = 100
    public var perIPWindow: Duration = .seconds(3600)
    public init() {}

    /// The wait before answering the `n`th refused recipient of a session (zero up to `tarpitAfter`).
    public func delay(forRefusal n: Int) -> Duration {
        guard n > tarpitAfter else { return .zero }
        return min(tarpitMax, tarpitStep * (n - tarpitAfter))
    }
}

extension SMTPSession {
    /// A refusal that tells the client the address does not exist here (or is not ours): what a
    /// prober learns from. Temporary failures and a full mailbox (552) say nothing of the kind.
    static func isProbeAnswer(_ refusal: SMTPReply) -> Bool {
        refusal.code / 100 == 5 && refusal.code != 552
    }

    /// Answers a refused recipient: counted per session and per client address, late past the
    /// tarpit threshold, and the session ends past the limits.
    func refuseRecipient(_ refusal: SMTPReply) async throws {
        guard Self.isProbeAnswer(refusal) else { reply(refusal); return }
        refusedRecipients += 1
        if submission == nil { metrics?.unknownRecipients.increment() }
        let policy = configuration.probes
        let ipOver = probeLimiter.map { !$0.allow(remoteIP, now: clock.now()) } ?? false
        if refusedRecipients > policy.closeAfter || ipOver {
            logger.warning("smtp recipient probing: connection closed", metadata: [
                "smtp.client.ip": "\(remoteIP)", "smtp.refused.recipients": "\(refusedRecipients)",
                "smtp.limit": ipOver ? "per address (\(policy.perIPLimit ?? 0) per \(policy.perIPWindow))" : "per session (\(policy.closeAfter))",
            ])
            metrics?.probeCloses.increment()
            meter?.ended(.probing)
            reply(421, "4.7.0", "\(configuration.hostname) Too many unknown recipients, closing connection")
            phase = .closed
            return
        }
        let delay = policy.delay(forRefusal: refusedRecipients)
        if delay > .zero {
            if refusedRecipients == policy.tarpitAfter + 1 {
                metrics?.tarpits.increment()
                logger.notice("smtp recipient probing: answers slowed down", metadata: [
                    "smtp.client.ip": "\(remoteIP)", "smtp.refused.recipients": "\(refusedRecipients)",
                ])
            }
            try await flush()  // the replies before this one are not held back
            await configuration.sleep(delay)
        }
        reply(refusal)
    }
}
