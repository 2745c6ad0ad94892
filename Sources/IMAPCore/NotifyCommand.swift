/// `NOTIFY SET [STATUS] event-groups` / `NOTIFY NONE` (RFC 5465 §3.1, §8).
public struct NotifyCommand: Sendable, Hashable {
    /// `SET STATUS`: a STATUS for each mailbox the message events name, before the tagged OK.
    public var status: Bool
    /// Empty for `NOTIFY NONE`.
    public var groups: [NotifyGroup]
    public init(status: Bool, groups: [NotifyGroup]) { self.status = status; self.groups = groups }
}

public struct NotifyGroup: Sendable, Hashable {
    public enum Filter: Sendable, Hashable {
        case selected, selectedDelayed, inboxes, personal, subscribed
        case subtree([String]), mailboxes([String])
        public var isSelected: Bool { self == .selected || self == .selectedDelayed }
    }
    public var filter: Filter
    /// The event names as the client wrote them (RFC 5465 §5; unknown ones are `event-ext`).
    /// Empty for `NONE`.
    public var events: [String]
    /// `MessageNew (fetch-att …)`: the attributes asked for, unparsed (only with SELECTED filters).
    public var messageNewAttributes: Bool
    public init(filter: Filter, events: [String], messageNewAttributes: Bool = false) {
        self.filter = filter; self.events = events; self.messageNewAttributes = messageNewAttributes
    }
}

extension IMAPCommandParser {
    // notify         = "NOTIFY" SP (notify-set / notify-none)
    // notify-set     = "SET" [status-indicator] SP event-groups
    // event-group    = "(" filter-mailboxes SP events ")"
    // events         = ( "(" event *(SP event) ")" ) / "NONE"
    static func parseNotify(_ r: inout CommandReader) throws(ParseFailure) -> IMAPCommand.Kind {
        try r.sp()
        let verb = try r.word()
        if verb == "NONE" { return .notify(NotifyCommand(status: false, groups: [])) }
        guard verb == "SET" else { throw ParseFailure("Expected SET or NONE") }
        try r.sp()
        var status = false
        if r.takeWord("STATUS") { status = true; try r.sp() }
        var groups: [NotifyGroup] = []
        repeat {
            try r.countItem()
            groups.append(try notifyGroup(&r))
        } while r.take(32)
        return .notify(NotifyCommand(status: status, groups: groups))
    }

    static func notifyGroup(_ r: inout CommandReader) throws(ParseFailure) -> NotifyGroup {
        try r.expect(UInt8(ascii: "("), "(")
        let filter: NotifyGroup.Filter
        switch try r.word() {
        case "SELECTED": filter = .selected
        case "SELECTED-DELAYED": filter = .selectedDelayed
        case "INBOXES": filter = .inboxes
        case "PERSONAL": filter = .personal
        case "SUBSCRIBED": filter = .subscribed
        case "SUBTREE": try r.sp(); filter = .subtree(try mailboxes(&r))
        case "MAILBOXES": try r.sp(); filter = .mailboxes(try mailboxes(&r))
        default: throw ParseFailure("Unknown NOTIFY filter")
        }
        try r.sp()
        var events: [String] = []
        var attributes = false
        if !r.takeWord("NONE") {
            try r.expect(UInt8(ascii: "("), "an event list")
            repeat {
                try r.countItem()
                let event = try r.atom()
                events.append(event)
                if event.uppercased() == "MESSAGENEW", r.peek() == 32, r.peek(1) == UInt8(ascii: "(") {
                    guard filter.isSelected else { throw ParseFailure("MessageNew attributes are for the selected mailbox only") }
                    r.pos += 1
                    try skipParenthesized(&r)
                    attributes = true
                }
            } while r.take(32)
            try r.expect(UInt8(ascii: ")"), ")")
        }
        try r.expect(UInt8(ascii: ")"), ")")
        return NotifyGroup(filter: filter, events: events, messageNewAttributes: attributes)
    }

    /// `one-or-more-mailbox = mailbox / "(" mailbox *(SP mailbox) ")"`
    static func mailboxes(_ r: inout CommandReader) throws(ParseFailure) -> [String] {
        guard r.take(UInt8(ascii: "(")) else { return [try r.mailbox()] }
        var names: [String] = []
        repeat { try r.countItem(); names.append(try r.mailbox()) } while r.take(32)
        try r.expect(UInt8(ascii: ")"), ")")
        return names
    }

    /// A balanced parenthesised list (the fetch-atts after MessageNew), quoted strings respected.
    static func skipParenthesized(_ r: inout CommandReader) throws(ParseFailure) {
        try r.expect(UInt8(ascii: "("), "(")
        var depth = 1
        while depth > 0 {
            guard let c = r.peek() else { throw ParseFailure("Unbalanced parentheses") }
            switch c {
            case UInt8(ascii: "("): depth += 1; r.pos += 1
            case UInt8(ascii: ")"): depth -= 1; r.pos += 1
            case UInt8(ascii: "\""): _ = try r.quoted()
            case 13, 10, 0: throw ParseFailure("Invalid character")
            default: r.pos += 1
            }
        }
    }
}
