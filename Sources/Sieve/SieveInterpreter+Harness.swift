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

    package func setInternalFlags(_ flags: [String]) { internalFlags = flags }

    package func setMailboxExists(_ f: @escaping @Sendable (String) -> Bool) { context.mailboxExists = f }

    package func resetResult() {
        actions = []; implicitKeepCancelled = false; redirects = 0; internalFlags = []
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
    /// The actions a script performed so far, without the implicit keep.
    package var explicitActions: [SieveAction] { actions }

    /// Takes over the result of a sub-run (`test_script_run`): its actions, or appends them.
    package func adopt(_ other: SieveInterpreter, append: Bool, failed: Bool) {
        if !append { resetResult() }
        if failed {
            implicitKeepCancelled = implicitKeepCancelled || false
            return
        }
        for a in other.actions where !actions.contains(a) { actions.append(a) }
        implicitKeepCancelled = implicitKeepCancelled || other.implicitKeepCancelled
        internalFlags = other.internalFlags
        if other.message.edited { message = other.message; context.message = other.currentMessageBytes }
        duplicateMarks += other.duplicateMarks
    }
}
