import IMAPCore
import MailNet

/// The session's connection (MailNet's `SessionTransport`: a channel in the server, memory in tests).
public typealias IMAPTransport = SessionTransport
/// Failed-login throttling as the session sees it (MailNet's `AuthGate`).
public typealias IMAPAuthGate = AuthGate
/// The IMAP session's event queue.
typealias IMAPSessionInbox = SessionInbox<IMAPFrame>
