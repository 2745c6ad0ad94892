/// Hands `vnd.dovecot.testsuite` commands and tests to the harness (tests only), and what the
/// harness may do with a run in progress.
extension SieveInterpreter {
    private func harnessArguments(_ n: SieveNode) throws(SieveRuntimeError) -> ([String: [String]], [[String]], [Int]) {
        var tags = [String: [String]]()
        for (k, v) in n.tags { tags[k] = try expandAll(v.strings) }
        var args = [[String]]()
        var numbers = [Int]()
        for a in n.arguments {
            if let x = a.number { numbers.append(x) } else { args.append(try expandAll(a.strings)) }
        }
        for (k, v) in n.tags { if let x = v.number { numbers.append(x); tags[k] = [String(x)] } }
        return (tags, args, numbers)
    }

    func harnessCommand(_ n: SieveNode) throws(SieveRuntimeError) -> Flow {
        guard let harness else { throw fail(n.line, "unknown command '\(n.name)'.") }
        let (tags, args, numbers) = try harnessArguments(n)
        let box = HarnessBlockBox()
        var block: (() throws -> Void)? = nil
        if let nodes = n.block {
            block = { [unowned self] in
                let flow: Result<Flow, SieveRuntimeError> = Result { () throws(SieveRuntimeError) -> Flow in try self.execute(nodes) }
                if case .failure(let e) = flow {
                    box.error = e
                    throw SieveHarnessAbort(e.diagnostic.description)
                }
            }
        }
        do {
            try harness.command(n.name, line: n.line, tags: tags, arguments: args, numbers: numbers, block: block, run: self)
        } catch {
            if let inner = box.error { throw inner }
            throw fail(n.line, error.message)
        }
        return .next
    }

    func harnessTest(_ n: SieveNode) throws(SieveRuntimeError) -> Bool {
        guard let harness else { throw fail(n.line, "unknown test '\(n.name)'.") }
        let (tags, args, numbers) = try harnessArguments(n)
        do {
            return try harness.test(n.name, line: n.line, tags: tags, arguments: args, numbers: numbers, run: self)
        } catch {
            throw fail(n.line, error.message)
        }
    }

    // MARK: what the harness may do

    package func runScript() -> SieveResult { run() }
    package var currentActions: [SieveAction] { result().actions }
    package var currentResult: SieveResult { result() }
    package var runContext: SieveRunContext { context }
    package var matchSpecOfNode: Void { () }

    package func replaceMessage(_ bytes: [UInt8]) {
        context.message = bytes
        message = SieveMessage(bytes)
    }

    package func setEnvelope(from: String? = nil, to: String? = nil, auth: String? = nil) {
        if let from { context.envelope.from = from }
        if let to { context.envelope.to = to }
        if let auth { context.envelope.auth = auth }
    }

    /// The message an action saw (editheader changes after it do not apply to it).
    package func messageForAction(_ index: Int) -> [UInt8] {
        if index < actions.count { return actionMessages[index] ?? context.message }
        return currentMessageBytes
    }

    package func setEditheaderProtection(forbidAdd: Set<String>, forbidDelete: Set<String>) {
        context.editheaderForbidAdd = forbidAdd
        context.editheaderForbidDelete = forbidDelete
    }

    package func setScores(spam: Int?, spamPercent: Int?, virus: Int?) {
        context.spamScore = spam; context.spamPercent = spamPercent; context.virusScore = virus
    }

    package func setRecipientDelimiters(_ d: String) { context.recipientDelimiters = d }

    package func setInternalFlags(_ flags: [String]) { internalFlags = flags }

    package func setMailboxExists(_ f: @escaping @Sendable (String) -> Bool) { context.mailboxExists = f }

    package func resetResult() {
        actions = []; actionMessages = [:]; implicitKeepCancelled = false; redirects = 0; internalFlags = []
        duplicateMarks = []; warnings = []
    }

    /// Whether `value` matches any of `keys` under the harness test's match spec (`test_error`, `test_result_action`).
    package func harnessMatch(_ values: [String], keys: [String], matchType: String?, comparator: String?) -> Bool {
        var spec = SieveMatchSpec()
        switch matchType {
        case "contains": spec.matchType = .contains
        case "matches": spec.matchType = .matches
        default: spec.matchType = .is
        }
        if comparator == "i;octet" { spec.comparator = .octet }
        for v in values {
            for k in keys {
                switch spec.matchType {
                case .contains: if SieveMatcher.contains(v, k, spec.comparator) { return true }
                case .matches: if SieveMatcher.glob(v, k, spec.comparator) != nil { return true }
                default: if SieveMatcher.isEqual(v, k, spec.comparator) { return true }
                }
            }
        }
        return false
    }

    /// The message as edited so far.
    package var currentMessageBytes: [UInt8] { message.edited ? message.serialized() : context.message }
}

/// Carries a run-time error out of a harness block.
final class HarnessBlockBox { var error: SieveRuntimeError? }

extension SieveInterpreter {
    /// Replaces the result (a sequence of scripts run by the harness, RFC 6609-like multiscript).
    package func setResult(actions: [SieveAction], implicitKeepCancelled: Bool, flags: [String]) {
        resetResult()
        self.actions = actions
        self.implicitKeepCancelled = implicitKeepCancelled
        self.internalFlags = flags
    }

    package var internalFlagsValue: [String] { internalFlags }
    package var implicitKeepWasCancelled: Bool { implicitKeepCancelled }

    /// The actions a script performed so far, without the implicit keep.
    package var explicitActions: [SieveAction] { actions }

    /// Takes over the result of a sub-run (`test_script_run`): its actions, or appends them.
    package func adopt(_ other: SieveInterpreter, append: Bool, failed: Bool) {
        if !append { resetResult() }
        if failed {
            implicitKeepCancelled = implicitKeepCancelled || false
            return
        }
        // results of separate runs merge gracefully: a second reject is dropped, keep and
        // fileinto "INBOX" are one, no conflict is an error
        for (i, a) in other.actions.enumerated() {
            if actions.contains(a) { continue }
            switch a {
            case .reject where actions.contains(where: { if case .reject = $0 { return true }; return false }):
                continue
            case .keep(let flags):
                if let j = actions.firstIndex(where: { if case .keep = $0 { return true }; if case .fileinto(let g) = $0 { return g.mailbox == "INBOX" }; return false }) {
                    actions[j] = .keep(flags: flags)
                    continue
                }
            case .fileinto(let f) where f.mailbox == "INBOX":
                if actions.contains(where: { if case .keep = $0 { return true }; return false }) { continue }
            default:
                break
            }
            actions.append(a)
            if let m = other.actionMessages[i] { actionMessages[actions.count - 1] = m }
        }
        implicitKeepCancelled = implicitKeepCancelled || other.implicitKeepCancelled
        internalFlags = other.internalFlags
        if other.message.edited { message = other.message }
        duplicateMarks += other.duplicateMarks
    }
}
