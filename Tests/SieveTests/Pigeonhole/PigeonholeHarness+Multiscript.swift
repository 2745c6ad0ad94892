import Foundation
@testable import Sieve

/// `test_multiscript`: scripts run one after the other on the same message (as Dovecot runs a
/// user's sieve_before, personal and sieve_after scripts): the internal flags carry over, each
/// script's actions join one result, a script that cancels the implicit keep ends the sequence,
/// and the combined result is executed.
extension PigeonholeHarness {
    func multiscript(_ paths: [String], run: SieveInterpreter) -> Bool {
        errors = []
        var actions = [SieveAction]()
        var flags = run.internalFlagsValue
        var cancelled = false
        var message = run.currentMessageBytes
        var ok = true
        for path in paths {
            let url = directory.appendingPathComponent(path)
            guard let text = try? String(contentsOf: url, encoding: .utf8) else { errors.append("cannot open \(path)"); return false }
            let script: SieveScript
            do { script = try SieveScript.compile(text, name: url.lastPathComponent, options: compileOptions) } catch {
                errors += error.errors.map(\.message)
                return false
            }
            var ctx = run.runContext
            ctx.limits = limits
            ctx.message = message
            let sub = script.makeInterpreter(ctx, harness: self)
            sub.setInternalFlags(flags)
            let result = sub.runScript()
            if !result.errors.isEmpty { errors += result.errors.map(\.message); ok = false; break }
            for a in sub.explicitActions where !actions.contains(a) { actions.append(a) }
            flags = sub.internalFlagsValue
            message = sub.currentMessageBytes   // editheader changes carry over to the next script
            cancelled = sub.implicitKeepWasCancelled
            if cancelled { break }
        }
        run.replaceMessage(message)
        run.setResult(actions: actions, implicitKeepCancelled: cancelled, flags: flags)
        return execute(run) && ok
    }
}
