import Testing
@testable import Sieve

@Suite("Sieve: API")
struct SieveAPITests {
    @Test("the capability string lists every supported extension once")
    func capabilities() {
        #expect(Set(SieveExtensions.supported).count == SieveExtensions.supported.count)
        #expect(SieveExtensions.capabilityString.hasPrefix("fileinto reject"))
    }

    @Test("diagnostics read like Pigeonhole's")
    func diagnostic() {
        #expect(SieveDiagnostic(line: 3, severity: .error, message: "unknown command 'foo'.").description == "line 3: error: unknown command 'foo'.")
    }
}
