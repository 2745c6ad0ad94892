import Foundation

/// Runs a compiled script over one message (RFC 5228 §2.10): walks the nodes, evaluates tests,
/// collects actions and applies the implicit keep rules. One interpreter per run.
package final class SieveInterpreter {
    enum Flow { case next, stop, returned }

    let script: SieveScript
    var context: SieveRunContext
    var message: SieveMessage
    var actions: [SieveAction] = []
    var implicitKeepCancelled = false
    var redirects = 0
    var globalVariables: [String: String] = [:]
    var internalFlags: [String] = []
    var duplicateMarks: [SieveDuplicateMark] = []
    var warnings: [SieveDiagnostic] = []
    var includedOnce: Set<Int> = []
    var duplicateSeenThisRun: Set<String> = []
    var steps = 0
    let deadline: Date
    /// The harness of `vnd.dovecot.testsuite` (tests only).
    package weak var harness: (any SieveTestHarness)?
    var regexSteps: Int
    /// The message as edited when each action was added (by action index), when editheader changed it.
    var actionMessages: [Int: [UInt8]] = [:]

    // the scope of the script being run
    var program: SieveProgram
    var variables: [String: String] = [:]
    var matchValues: [String] = []

    init(script: SieveScript, context: SieveRunContext) {
        self.script = script
        self.context = context
        self.message = SieveMessage(context.message)
        self.program = script.program
        self.deadline = Date().addingTimeInterval(context.limits.maxRunSeconds)
        self.regexSteps = context.limits.maxRegexSteps
    }

    func fail(_ line: Int, _ message: String) -> SieveRuntimeError { SieveRuntimeError(line: line, message: message) }

    /// Runs the script; a run-time error gives the implicit keep with the error.
    func run() -> SieveResult {
        do {
            _ = try execute(program.commands)
        } catch {
            var r = SieveResult.implicitKeep(errors: [error.diagnostic])
            r.warnings = warnings
            return r
        }
        return result()
    }

    /// The result as it stands (the actions so far and the implicit keep when it still applies).
    package func result() -> SieveResult {
        var list = actions
        let keep = !implicitKeepCancelled
        if keep {
            if !list.contains(where: { if case .keep = $0 { return true }; return false }) {
                list.append(.keep(flags: internalFlags))
            }
        }
        return SieveResult(actions: list, implicitKeep: keep, editedMessage: message.edited ? message.serialized() : nil,
                           duplicateMarks: duplicateMarks, errors: [], warnings: warnings)
    }

    func tick(_ line: Int) throws(SieveRuntimeError) {
        steps += 1
        if steps & 255 == 0, Date() > deadline {
            throw fail(line, "the script exceeded its run time limit of \(context.limits.maxRunSeconds) seconds.")
        }
    }

    func execute(_ nodes: [SieveNode]) throws(SieveRuntimeError) -> Flow {
        for node in nodes {
            try tick(node.line)
            let flow = try command(node)
            if flow != .next { return flow }
        }
        return .next
    }

    func command(_ n: SieveNode) throws(SieveRuntimeError) -> Flow {
        switch n.name {
        case "if":
            if try test(n.tests[0]) { return try execute(n.block ?? []) }
            for branch in n.chain {
                if branch.name == "else" { return try execute(branch.block ?? []) }
                if try test(branch.tests[0]) { return try execute(branch.block ?? []) }
            }
            return .next
        case "stop": return .stop
        case "return": return .returned
        case "keep":
            var flags = internalFlags
            if let f = n.tag("flags") { flags = try flagList(f.strings) }
            try addAction(.keep(flags: flags), line: n.line)
            implicitKeepCancelled = true
        case "discard":
            implicitKeepCancelled = true
            if !actions.contains(.discard) { actions.append(.discard) }
        case "fileinto":
            var mailbox = try expand(n.arguments[0].strings[0])
            if mailbox.isEmpty { throw fail(n.line, "fileinto action: invalid folder name '' specified.") }
            if mailbox.unicodeScalars.contains(where: { $0.value < 0x20 }) {
                throw fail(n.line, "fileinto action: invalid folder name specified.")
            }
            if mailbox.unicodeScalars.contains("\u{FFFD}") {
                throw fail(n.line, "fileinto action: invalid folder name specified: the name is not valid UTF-8.")
            }
            mailbox = Self.normalizeInbox(mailbox)
            var flags = internalFlags
            if let f = n.tag("flags") { flags = try flagList(f.strings) }
            var special: String?
            if let s = n.tag("specialuse") { special = try expand(s.strings[0]) }
            let copy = n.has("copy")
            let f = SieveFileInto(mailbox: mailbox, flags: flags, create: n.has("create"), specialUse: special, copy: copy)
            try addAction(.fileinto(f), line: n.line)
            if !copy { implicitKeepCancelled = true }
        case "redirect":
            let raw = try expand(n.arguments[0].strings[0])
            guard let address = SieveAddressCheck.normalize(raw) else {
                throw fail(n.line, "redirect action: specified redirect address '\(raw)' is invalid.")
            }
            let copy = n.has("copy")
            try addAction(.redirect(address: address, copy: copy), line: n.line)
            if !copy { implicitKeepCancelled = true }
        case "reject", "ereject":
            let reason = try expand(n.arguments[0].strings[0])
            try addAction(.reject(reason: reason, extended: n.name == "ereject"), line: n.line)
            implicitKeepCancelled = true
        case "vacation":
            try vacation(n)
        case "set":
            try setVariable(n)
        case "setflag", "addflag", "removeflag":
            try flagCommand(n)
        case "include":
            return try include(n)
        case "global":
            break
        case "addheader":
            let name = try expand(n.arguments[0].strings[0])
            let value = try expand(n.arguments[1].strings[0])
            try addHeader(n, name: name, value: value)
        case "deleteheader":
            try deleteHeader(n)
        case "error":
            throw fail(n.line, try expand(n.arguments[0].strings[0]))
        default:
            return try harnessCommand(n)
        }
        return .next
    }

    // MARK: actions

    func addAction(_ a: SieveAction, line: Int) throws(SieveRuntimeError) {
        // duplicates merge (RFC 5228 §2.10.3)
        switch a {
        case .keep(let flags):
            // a repeated keep (or fileinto "INBOX") is one; the last flag list wins (RFC 5232 §5)
            for (i, e) in actions.enumerated() {
                if case .keep = e { actions[i] = .keep(flags: flags); return }
                if case .fileinto(let g) = e, g.mailbox == "INBOX", !g.create { actions[i] = .keep(flags: flags); return }
            }
        case .fileinto(let f):
            for (i, e) in actions.enumerated() {
                if case .fileinto(var g) = e, g.mailbox == f.mailbox {
                    if !f.copy { g.copy = false }
                    if f.create { g.create = true }
                    g.flags = f.flags
                    actions[i] = .fileinto(g)
                    return
                }
                if case .keep = e, f.mailbox == "INBOX" { actions[i] = .keep(flags: f.flags); return }
            }
        case .redirect(let addr, let copy):
            for (i, e) in actions.enumerated() {
                if case .redirect(let other, let otherCopy) = e, Self.sameMailbox(other, addr) {
                    if !copy && otherCopy { actions[i] = .redirect(address: other, copy: false) }
                    return
                }
            }
            redirects += 1
            if redirects > context.limits.maxRedirects {
                throw fail(line, "total number of redirect actions exceeds policy limit (\(context.limits.maxRedirects)).")
            }
        case .reject:
            if actions.contains(where: { if case .reject = $0 { return true }; return false }) {
                throw fail(line, "duplicate reject/ereject action not allowed.")
            }
            if let other = actions.first(where: { if case .keep = $0 { return true }; if case .fileinto = $0 { return true }; if case .vacation = $0 { return true }; if case .redirect(_, false) = $0 { return true }; return false }) {
                throw fail(line, "reject action conflicts with other action: the \(Self.actionName(other)) action was already specified.")
            }
        case .vacation:
            if actions.contains(where: { if case .vacation = $0 { return true }; return false }) {
                throw fail(line, "duplicate vacation action not allowed.")
            }
            if actions.contains(where: { if case .reject = $0 { return true }; return false }) {
                throw fail(line, "vacation action conflicts with other action: the reject action was already specified.")
            }
        case .discard:
            break
        }
        if case .keep = a, actions.contains(where: { if case .reject = $0 { return true }; return false }) {
            throw fail(line, "keep action conflicts with other action: the reject action was already specified.")
        }
        if case .redirect(_, false) = a, actions.contains(where: { if case .reject = $0 { return true }; return false }) {
            throw fail(line, "redirect action conflicts with other action: the reject action was already specified.")
        }
        if case .fileinto = a, actions.contains(where: { if case .reject = $0 { return true }; return false }) {
            throw fail(line, "fileinto action conflicts with other action: the reject action was already specified.")
        }
        actions.append(a)
        if message.edited { actionMessages[actions.count - 1] = message.serialized() }
        if actions.count > context.limits.maxActions {
            throw fail(line, "total number of actions exceeds policy limit (\(context.limits.maxActions)).")
        }
    }

    /// Two addresses name the same mailbox: the local part as written (RFC 5321 §2.4), the domain
    /// without regard to case.
    static func sameMailbox(_ a: String, _ b: String) -> Bool {
        let (la, da) = SieveAddressCheck.split(a), (lb, db) = SieveAddressCheck.split(b)
        return la == lb && da?.lowercased() == db?.lowercased()
    }

    /// `INBOX` is case-insensitive, also as the first level of a hierarchy (RFC 3501 §5.1).
    static func normalizeInbox(_ m: String) -> String {
        let lower = m.lowercased()
        if lower == "inbox" { return "INBOX" }
        if lower.hasPrefix("inbox"), let sep = m.dropFirst(5).first, sep == "." || sep == "/" { return "INBOX" + m.dropFirst(5) }
        return m
    }

    static func actionName(_ a: SieveAction) -> String {
        switch a {
        case .keep: return "keep"
        case .fileinto: return "fileinto"
        case .redirect: return "redirect"
        case .discard: return "discard"
        case .reject(_, let e): return e ? "ereject" : "reject"
        case .vacation: return "vacation"
        }
    }

    func vacation(_ n: SieveNode) throws(SieveRuntimeError) {
        let reason = try expand(n.arguments[0].strings[0])
        let period = n.tag("period")?.number ?? context.limits.vacationDefaultPeriod
        let subject = try optionalString(n, "subject")
        let from = try optionalString(n, "from")
        var addresses = [String]()
        for a in n.tag("addresses")?.strings ?? [] { addresses.append(try expand(a)) }
        let handle = try optionalString(n, "handle")
        let v = SieveVacation(reason: reason, mime: n.has("mime"), subject: subject, from: from, addresses: addresses,
                              handle: handle, periodSeconds: period)
        try addAction(.vacation(v), line: n.line)
    }

    // MARK: include

    func include(_ n: SieveNode) throws(SieveRuntimeError) -> Flow {
        guard let idx = n.include, idx >= 0 else { return .next }   // a missing :optional script
        if n.has("once") && includedOnce.contains(idx) { return .next }
        includedOnce.insert(idx)
        let target = script.includes[idx]
        let savedProgram = program, savedVariables = variables, savedMatch = matchValues
        program = target
        variables = [:]
        matchValues = []
        defer { program = savedProgram; variables = savedVariables; matchValues = savedMatch }
        let flow = try execute(target.commands)
        return flow == .stop ? .stop : .next
    }
}
