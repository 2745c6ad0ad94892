/// What the test harness (`vnd.dovecot.testsuite`, test-only) does with its own commands and tests.
package protocol SieveTestHarness: AnyObject {
    /// Runs a testsuite command; `state` is the run in progress.
    func command(_ name: String, line: Int, tags: [String: [String]], arguments: [[String]], numbers: [Int],
                 block: (() throws -> Void)?, run: SieveInterpreter) throws(SieveHarnessAbort)
    /// Evaluates a testsuite test.
    func test(_ name: String, line: Int, tags: [String: [String]], arguments: [[String]], numbers: [Int],
              run: SieveInterpreter) throws(SieveHarnessAbort) -> Bool
}

/// Thrown by the harness to stop a run (a failed `test_fail`, a crash of the test file).
package struct SieveHarnessAbort: Error { package var message: String; package init(_ m: String) { message = m } }
