import MailAuth
import Testing

/// Placeholder suite so the target builds before the evaluators' own suites land.
@Suite struct MailAuthModuleTests {
    @Test func relaxedHeaderLowercasesTheName() {
        #expect(DKIMCanonicalization.relaxedHeader(Array("Subject:  Hi  there ".utf8)) == Array("subject:Hi there\r\n".utf8))
    }
}
