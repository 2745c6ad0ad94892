/// A run-time error: the run stops and the message is kept (RFC 5228 §2.10.6).
struct SieveRuntimeError: Error {
    var line: Int
    var message: String

    var diagnostic: SieveDiagnostic { SieveDiagnostic(line: line, severity: .error, message: message) }
}
