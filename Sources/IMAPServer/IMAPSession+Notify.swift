import IMAPCore
import MailboxAPI
import Synchronization

/// The changes of other folders recorded for NOTIFY while it is on (filled by the watch task,
/// read by the session). Bounded: past `capacity` it overflows (RFC 5465 NOTIFICATIONOVERFLOW).
final class NotifyChangeLog: Sendable {
    private struct State { var active = false; var changes: [MailboxChange] = []; var overflow = false }
    private let state = Mutex(State())
    static let capacity = 4096

    func record(_ change: MailboxChange) {
        state.withLock { s in
            guard s.active, !s.overflow else { return }
            if s.changes.count >= Self.capacity { s.overflow = true; s.changes = [] } else { s.changes.append(change) }
        }
    }
    func setActive(_ on: Bool) { state.withLock { $0 = State(active: on) } }
    func take() -> (changes: [MailboxChange], overflow: Bool) {
        state.withLock { s in
            defer { s.changes = []; s.overflow = false }
            return (s.changes, s.overflow)
        }
    }
}

/// NOTIFY (RFC 5465): STATUS for other mailboxes' message events (MessageNew, MessageExpunge,
/// FlagChange), sent between commands, during IDLE and with NOOP; the selected mailbox keeps its
/// usual untagged updates, sent between commands too when a SELECTED filter asks for them.
extension IMAPSession {
    static let notifyEvents = ["MessageNew", "MessageExpunge", "FlagChange"]

    func setNotify(_ tag: String, _ command: NotifyCommand, mailbox: any MailboxSession) async throws {
        guard !command.groups.isEmpty else {
            notify = nil; notifyLog.setActive(false)
            ok(tag, "NOTIFY completed"); return
        }
        for group in command.groups where group.filter.isSelected {
            let events = Set(group.events.map { $0.uppercased() })
            // RFC 5465 §5.2, §5.3, §5.1: MessageNew and MessageExpunge go together; FlagChange needs both.
            if events.contains("MESSAGENEW") != events.contains("MESSAGEEXPUNGE")
                || (events.contains("FLAGCHANGE") && !events.contains("MESSAGENEW")) {
                bad(tag, "MessageNew and MessageExpunge go together, and FlagChange needs them"); return
            }
        }
        let supported = Set(Self.notifyEvents.map { $0.uppercased() })
        if command.groups.contains(where: { $0.events.contains { !supported.contains($0.uppercased()) } }) {
            no(tag, "Unsupported NOTIFY event", code: .other("BADEVENT (\(Self.notifyEvents.joined(separator: " ")))")); return
        }
        if command.groups.contains(where: \.messageNewAttributes) {
            no(tag, "FETCH attributes after MessageNew are not supported", code: .cannot); return
        }
        notify = command
        notifyLog.setActive(true)
        if command.status {
            let subscriptions = try await notifySubscriptions(mailbox)
            let names = try await mailbox.folders().map(\.path).sorted(by: Self.folderOrder)
            for name in names where name != selected?.path && !(notifyEvents(for: name, subscriptions: subscriptions) ?? []).isEmpty {
                try await sendNotifyStatus(name, mailbox: mailbox)
            }
        }
        ok(tag, "NOTIFY completed")
    }

    /// The events (upper-cased) the first non-SELECTED group naming `folder` asks for; nil when none names it.
    func notifyEvents(for folder: String, subscriptions: Set<String>) -> Set<String>? {
        guard let notify else { return nil }
        for group in notify.groups {
            let matches: Bool = switch group.filter {
            case .selected, .selectedDelayed: false
            case .inboxes: folder == "INBOX"
            case .personal: true
            case .subscribed: subscriptions.contains(folder)
            case .subtree(let roots): roots.contains { folder == $0 || folder.hasPrefix($0 + "/") }
            case .mailboxes(let names): names.contains(folder)
            }
            if matches { return Set(group.events.map { $0.uppercased() }) }
        }
        return nil
    }

    func notifySubscriptions(_ mailbox: any MailboxSession) async throws -> Set<String> {
        guard notify?.groups.contains(where: { $0.filter == .subscribed }) == true else { return [] }
        return Set(try await mailbox.subscriptions())
    }

    func sendNotifyStatus(_ name: String, mailbox: any MailboxSession) async throws {
        var attributes: [StatusAttribute] = [.messages, .uidNext, .unseen]
        if enabled.contains("CONDSTORE") { attributes.append(.highestModSeq) }
        guard let items = try? await statusItems(name, attributes, mailbox: mailbox) else { return }  // gone meanwhile
        untagged(.status(mailbox: name, items: items))
    }

    /// The SELECTED group, if it asks for events.
    var notifySelected: NotifyGroup? { notify?.groups.first { $0.filter.isSelected && !$0.events.isEmpty } }

    /// Sends what NOTIFY asks for now (between commands, in IDLE, with NOOP): the STATUS of other
    /// folders whose messages changed, in the order they first changed.
    func deliverNotifications() async throws {
        guard notify != nil, let mailbox else { return }
        let (changes, overflow) = notifyLog.take()
        if overflow {
            // RFC 5465 §5.8: events were lost; NOTIFY is off until the client sets it again.
            notify = nil; notifyLog.setActive(false)
            untagged(.condition(status: .ok, code: .other("NOTIFICATIONOVERFLOW"), text: "Too many notifications; NOTIFY is off"))
            return
        }
        var order: [String] = [], events: [String: Set<String>] = [:]
        for change in changes where change.origin != mailbox.id && !change.folder.isEmpty && change.folder != selected?.path {
            let event: String
            switch change.kind {
            case .appended: event = "MESSAGENEW"
            case .expunged: event = "MESSAGEEXPUNGE"
            case .flagsChanged: event = "FLAGCHANGE"
            default: continue
            }
            if events[change.folder] == nil { order.append(change.folder) }
            events[change.folder, default: []].insert(event)
        }
        guard !order.isEmpty else { return }
        let subscriptions = try await notifySubscriptions(mailbox)
        for folder in order {
            guard let wanted = notifyEvents(for: folder, subscriptions: subscriptions),
                  !wanted.isDisjoint(with: events[folder] ?? []) else { continue }
            try await sendNotifyStatus(folder, mailbox: mailbox)
        }
    }

    /// A change arrived while no command runs: with NOTIFY on, tell the client now.
    func notifyBetweenCommands() async throws {
        guard notify != nil else { return }
        if let group = notifySelected, state == .selected {
            try await sendUpdates(expungeAllowed: group.filter == .selected)
        }
        try await deliverNotifications()
        try await flush()
    }
}
