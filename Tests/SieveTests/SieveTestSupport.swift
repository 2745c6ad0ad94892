import Foundation
@testable import Sieve

/// Small helpers for the language tests.
enum SieveFixture {
    static let message = """
    Return-Path: <sender@example.org>\r
    Received: from mx.example.org by mail.example.com; Fri, 13 Feb 2009 23:31:30 +0100\r
    From: "Joe Sender" <joe+lists@example.org>\r
    To: Alice <alice@example.com>, bob@example.net\r
    Cc: carol@example.com\r
    Subject: Hello world\r
    Date: Fri, 13 Feb 2009 23:31:30 +0100\r
    Message-ID: <abc123@example.org>\r
    X-Spam-Level: ***\r
    \r
    This is the body.\r
    It has two lines.\r

    """

    static func context(_ msg: String = message, from: String = "sender@example.org", to: String = "alice@example.com",
                        limits: SieveLimits = .default) -> SieveRunContext {
        SieveRunContext(message: Array(msg.utf8), envelope: SieveEnvelope(from: from, to: to),
                        now: Date(timeIntervalSince1970: 1_234_567_890), timeZone: TimeZone(identifier: "UTC")!, limits: limits)
    }

    static func run(_ script: String, _ ctx: SieveRunContext = context(), options: SieveCompileOptions = .init()) throws -> SieveResult {
        let s = try SieveScript.compile(script, options: options)
        return s.run(ctx)
    }

    static func compileErrors(_ script: String, options: SieveCompileOptions = .init()) -> [String] {
        do {
            _ = try SieveScript.compile(script, options: options)
            return []
        } catch {
            return error.errors.map(\.description)
        }
    }
}
