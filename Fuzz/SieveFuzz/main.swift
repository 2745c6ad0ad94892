// libFuzzer entry point over the Sieve lexer, parser, validator and interpreter. Built by
// scripts/fuzz.sh with `swiftc -sanitize=fuzzer,address -parse-as-library -module-name MIMEParser
// Sources/MIMEParser/*.swift Sources/Sieve/*.swift Fuzz/SieveFuzz/main.swift` (one module: the Sieve
// files' `import MIMEParser` is then ignored, with a warning). The input is a script; includes load
// slices of the same input. Besides crashes and hangs it checks invariants, trapping when one breaks:
// - compiling never traps; every diagnostic has a line within the script and a one-line message;
// - a script that compiles runs without trapping over a small message, and its result is never
//   empty (the implicit keep at least); after a run-time error the result is exactly the keep;
// - compiling the same text twice gives the same diagnostics (no hidden state).
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func sieveFuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let text = String(decoding: bytes, as: UTF8.self)
    let lines = text.utf8.filter { $0 == 10 }.count + 1
    var limits = SieveLimits()
    limits.maxNesting = 16
    limits.maxActions = 16
    limits.maxRunSeconds = 1
    limits.maxRegexSteps = 200_000
    limits.maxIncludeDepth = 3
    limits.maxIncludedScripts = 8
    let half = String(decoding: bytes.prefix(size / 2), as: UTF8.self)
    let options = SieveCompileOptions(limits: limits, includeLoader: { name, _ in name.count % 2 == 0 ? half : nil })

    func compile() -> Result<SieveScript, SieveCompileError> {
        do { return .success(try SieveScript.compile(text, name: "fuzz", options: options)) } catch { return .failure(error) }
    }
    let first = compile()
    switch (first, compile()) {
    case (.failure(let a), .failure(let b)): precondition(a.diagnostics == b.diagnostics, "compile is not deterministic")
    case (.success(let a), .success(let b)): precondition(a.warnings == b.warnings, "compile is not deterministic")
    default: preconditionFailure("compile is not deterministic")
    }
    switch first {
    case .failure(let e):
        precondition(!e.errors.isEmpty, "a failed compile without an error")
        for d in e.diagnostics {
            precondition(d.line >= 1 && d.line <= lines + 1, "diagnostic line \(d.line) outside the script (\(lines) lines)")
            precondition(!d.message.contains("\n"), "multi-line diagnostic")
        }
    case .success(let script):
        let message = Array("From: a@example.com\r\nTo: b@example.org\r\nSubject: fuzz\r\nDate: Fri, 13 Feb 2009 23:31:30 +0100\r\n\r\nbody\r\n".utf8)
        let ctx = SieveRunContext(message: message, envelope: SieveEnvelope(from: "a@example.com", to: "b@example.org"),
                                  now: Date(timeIntervalSince1970: 1_234_567_890), timeZone: TimeZone(identifier: "UTC")!,
                                  limits: limits)
        let r = script.run(ctx)
        precondition(!r.actions.isEmpty, "empty result")
        if !r.errors.isEmpty { precondition(r.actions == [.keep(flags: [])] && r.implicitKeep, "a failed run must keep") }
    }
    return 0
}
