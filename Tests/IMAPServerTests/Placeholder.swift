import Testing
@testable import IMAPServer

@Suite struct IMAPServerPlaceholderTests { @Test func builds() {} }
