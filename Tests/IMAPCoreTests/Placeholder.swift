import Testing
@testable import IMAPCore

@Suite struct IMAPCorePlaceholderTests { @Test func builds() {} }
