import Foundation
import Testing
@testable import Directory

@Suite("Directory values")
struct DirectoryValueTests {
    @Test("dates: ISO 8601 UTC with milliseconds, both ways", arguments: [
        (0.0, "1970-01-01T00:00:00.000Z"),
        (1_700_000_000.1234, "2023-11-14T22:13:20.123Z"),
        (1_700_000_000.9996, "2023-11-14T22:13:21.000Z"),
        (1_800_000_000.5, "2027-01-15T08:00:00.500Z"),
        (-1.5, "1969-12-31T23:59:58.500Z"),
    ])
    func dates(seconds: Double, text: String) throws {
        let date = Date(timeIntervalSince1970: seconds)
        #expect(DirectoryDate.string(date) == text)
        #expect(DirectoryDate.date(text) == DirectoryDate.normalized(date))
        #expect(DirectoryDate.normalized(DirectoryDate.normalized(date)) == DirectoryDate.normalized(date))
    }

    @Test("bad date strings", arguments: ["", "2023-11-14", "2023-11-14T22:13:20.1234Z", "2023-11-14T22:13:20+01:00", "nope Z"])
    func badDates(text: String) {
        #expect(DirectoryDate.date(text) == nil)
    }

    @Test("records round their dates to the millisecond, also when set")
    func recordDates() {
        var record = PasswordRecord(aliasID: DirectoryID.random(), created: Date(timeIntervalSince1970: 1.0004), kdf: "k", salt: [1], wrappedKey: [2])
        #expect(record.created.timeIntervalSince1970 == 1.0)
        record.lastUsed = Date(timeIntervalSince1970: 2.0006)
        #expect(record.lastUsed == DirectoryDate.normalized(Date(timeIntervalSince1970: 2.001)))
    }

    @Test("ids")
    func ids() {
        let ids = (0..<100).map { _ in DirectoryID.random() }
        #expect(Set(ids).count == 100 && ids.allSatisfy(DirectoryID.isValid))
        #expect(DirectoryID.isValidPasswordID(DirectoryID.randomPasswordID()))
        #expect(!DirectoryID.isValid("ABCDEF0123456789abcdef0123456789"))
        #expect(!DirectoryID.isValid("abc"))
    }

    @Test("webhook rules", arguments: [
        ("https://hooks.example.com/x?token=1", true), ("http://127.0.0.1:8080/", true), ("HTTPS://H.EXAMPLE", true),
        ("ftp://x.example", false), ("https://", false), ("mailto:a@b.c", false), ("https://a b.example", false),
        ("https://é.example", false), ("", false), ("https://x.example/" + String(repeating: "a", count: 2048), false),
    ])
    func webhooks(url: String, ok: Bool) {
        #expect((DirectoryRules.webhookProblem(url) == nil) == ok)
    }

    @Test("every error code has a distinct name")
    func codes() {
        #expect(Set(DirectoryError.Code.allCases.map(\.rawValue)).count == DirectoryError.Code.allCases.count)
    }
}
