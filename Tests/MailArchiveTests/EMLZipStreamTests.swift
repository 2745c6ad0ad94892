import Foundation
@testable import MailArchive
import MailboxAPI
import Testing

@Suite struct EMLZipStreamTests {
    @Test("a streamed zip reads back like EMLZipWriter's: folders, files, flags, keywords, dates")
    func roundTrip() throws {
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let date = Date(timeIntervalSince1970: 1_700_000_000)
        let messages: [(String, ArchivedMessage)] = [
            ("INBOX", ArchivedMessage(bytes: crlf("Subject: one\n\nbody one\n"), flags: [.seen], keywords: ["$label1"], internalDate: date)),
            ("INBOX", ArchivedMessage(bytes: crlf("Subject: two\n\n" + String(repeating: "x", count: 100_000) + "\n"), internalDate: date)),
            ("Archive/2024", ArchivedMessage(bytes: crlf("Subject: three\n\nbody\n"), flags: [.flagged, .answered], internalDate: date)),
        ]
        var stream = EMLZipStream()
        var bytes: [UInt8] = []
        for (folder, message) in messages { bytes += try stream.add(folder: folder, message: message) }
        bytes += stream.finish()
        let path = dir + "/out.zip"
        FileManager.default.createFile(atPath: path, contents: Data(bytes))
        let read = try EMLZipReader.read(path: path)
        // The reader gives folders in name order.
        let expected = messages.enumerated().sorted { ($0.element.0, $0.offset) < ($1.element.0, $1.offset) }.map(\.element)
        #expect(read.map(\.folder) == expected.map(\.0))
        #expect(read.map(\.message) == expected.map(\.1))
    }

    @Test("MBoxWriter.encode is what the writer writes")
    func mboxEncode() throws {
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let message = ArchivedMessage(bytes: crlf("Subject: x\n\nFrom here\n"), flags: [.seen], internalDate: Date(timeIntervalSince1970: 0))
        try writeMBox([message], to: dir + "/a.mbox")
        var encoded: [UInt8] = []
        MBoxWriter.encode(message, into: &encoded)
        #expect(encoded == Array(try Data(contentsOf: URL(fileURLWithPath: dir + "/a.mbox"))))
    }
}
