import Testing
@testable import MailNet

@Suite struct MailNetPlaceholderTests { @Test func builds() {} }
