import Foundation
@testable import MailArchive
import Testing
import TestSupport

func crlf(_ s: String) -> [UInt8] { Array(s.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\n", with: "\r\n").utf8) }

func scratchDirectory() throws -> String {
    let dir = NSTemporaryDirectory() + "sealbox-archive-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

func writeMBox(_ messages: [ArchivedMessage], to path: String) throws {
    FileManager.default.createFile(atPath: path, contents: nil)
    let handle = try #require(FileHandle(forWritingAtPath: path))
    var writer = MBoxWriter(fileHandle: handle)
    for m in messages { try writer.write(m) }
    try writer.finish()
    try handle.close()
}

func readMBox(_ path: String) throws -> [ArchivedMessage] {
    var reader = try MBoxReader(path: path)
    var out: [ArchivedMessage] = []
    while let m = try reader.next() { out.append(m) }
    #expect(reader.bytesRead == reader.totalBytes)
    return out
}

@Suite("mbox")
struct MBoxTests {
    static let date = Date(timeIntervalSince1970: 1_795_000_000)
    static let tricky: [ArchivedMessage] = [
        ArchivedMessage(bytes: crlf("From: a@example.org\nReturn-Path: <bounce@example.org>\nSubject: From lines\n\nFrom the start\n>From quoted\n>>From twice\nFromage\n\nFrom after a blank\n"),
                        flags: [.seen, .answered], keywords: ["$Forwarded", "work"], internalDate: date),
        ArchivedMessage(bytes: crlf("From: b@example.org\nSubject: =?utf-8?q?caf=C3=A9?= ünïcødé\n\n"), flags: [.flagged, .draft, .deleted], internalDate: date.addingTimeInterval(61)),
        ArchivedMessage(bytes: crlf("From: c@example.org\nSubject: trailing blank lines\n\nbody\n\n\n"), flags: [], internalDate: date.addingTimeInterval(3600)),
        ArchivedMessage(bytes: crlf("Subject: no from\n\n.\n..\nend\n"), flags: [.seen], internalDate: date.addingTimeInterval(7200)),
    ]

    @Test("write then read gives back the same bytes, flags, keywords and dates")
    func roundTrip() throws {
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try writeMBox(Self.tricky, to: dir + "/x.mbox")
        let text = String(decoding: try Data(contentsOf: URL(fileURLWithPath: dir + "/x.mbox")), as: UTF8.self)
        #expect(text.hasPrefix("From bounce@example.org "))
        #expect(text.contains("\n>From the start\n>>From quoted\n>>>From twice\nFromage\n"))
        #expect(!text.contains("\r"))
        #expect(text.contains("Status: RO\nX-Status: A\nX-Keywords: $Forwarded work\n"))
        #expect(try readMBox(dir + "/x.mbox") == Self.tricky)
    }

    @Test("a file written by Python's mailbox module (mboxo, flags set with set_flags)",
          .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/python3"), "python3 is not installed"))
    func pythonMailbox() throws {
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let script = """
            import mailbox, sys
            box = mailbox.mbox(sys.argv[1])
            m = mailbox.mboxMessage("From: p@example.org\\nSubject: one\\n\\nFrom here on\\nbody\\n")
            m.set_flags("RFA"); m.set_from("p@example.org", (2026, 11, 22, 10, 0, 0, 0, 326, 0))
            box.add(m)
            n = mailbox.mboxMessage("From: q@example.org\\nSubject: two\\n\\nsecond\\n")
            box.add(n)
            box.flush(); box.close()
            """
        let p = try ChildProcess.spawn("/usr/bin/python3", ["-c", script, dir + "/py.mbox"]).waitBlocking(timeout: .seconds(60))
        #expect(p.ok, "\(p.stderr)")
        let messages = try readMBox(dir + "/py.mbox")
        #expect(messages.count == 2)
        #expect(messages[0].flags == [.seen, .flagged, .answered])
        #expect(messages[0].bytes == crlf("From: p@example.org\nSubject: one\n\nFrom here on\nbody\n"))
        #expect(messages[0].internalDate == Date(timeIntervalSince1970: 1_795_341_600))
        #expect(messages[1].flags == [] && messages[1].bytes == crlf("From: q@example.org\nSubject: two\n\nsecond\n"))
    }

    @Test("Thunderbird's X-Mozilla-Status flags; CRLF files; garbage before the first message is an error")
    func otherTools() throws {
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let tb = "From - Sun Nov 22 10:00:00 2026\r\nX-Mozilla-Status: 1003\r\nX-Mozilla-Status2: 00000000\r\nSubject: tb\r\n\r\nhi\r\n\r\n"
        try Data(tb.utf8).write(to: URL(fileURLWithPath: dir + "/tb.mbox"))
        let m = try readMBox(dir + "/tb.mbox")
        #expect(m.count == 1 && m[0].flags == [.seen, .answered] && m[0].keywords == ["$Forwarded"])
        #expect(m[0].bytes == crlf("Subject: tb\n\nhi\n"))
        try Data("not an mbox\n".utf8).write(to: URL(fileURLWithPath: dir + "/bad.mbox"))
        #expect(throws: ArchiveError.self) { try readMBox(dir + "/bad.mbox") }
    }

    @Test("a large mbox is read message by message with every byte accounted for")
    func large() throws {
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let body = String(repeating: "line of text for the large mbox test\n", count: 600)
        let messages = (0..<2000).map { i in
            ArchivedMessage(bytes: crlf("From: s\(i)@example.org\nSubject: \(i)\n\n\(body)"), flags: i % 2 == 0 ? [.seen] : [],
                            internalDate: Date(timeIntervalSince1970: 1_700_000_000 + Double(i)))
        }
        try writeMBox(messages, to: dir + "/large.mbox")
        var reader = try MBoxReader(path: dir + "/large.mbox")
        var count = 0
        while let m = try reader.next() {
            #expect(m == messages[count])
            count += 1
        }
        #expect(count == 2000 && reader.bytesRead == reader.totalBytes && reader.totalBytes > 40_000_000)
    }

    @Test("a message over the size limit is an error naming the offset")
    func limit() throws {
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try writeMBox([ArchivedMessage(bytes: crlf("Subject: big\n\n" + String(repeating: "x\n", count: 5000)))], to: dir + "/big.mbox")
        var limits = ArchiveLimits()
        limits.maxMessageSize = 1000
        var reader = try MBoxReader(path: dir + "/big.mbox", limits: limits)
        #expect { _ = try reader.next() } throws: { "\($0)".contains("larger than 1000 bytes") && "\($0)".contains("big.mbox") }
    }
}

@Suite("Maildir, eml-zip, identity")
struct OtherFormatTests {
    @Test("a Maildir made by Python's mailbox module: folders, flags, keywords via dovecot-keywords",
          .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/python3"), "python3 is not installed"))
    func maildir() throws {
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let script = """
            import mailbox, sys
            md = mailbox.Maildir(sys.argv[1], create=True)
            m = mailbox.MaildirMessage("From: a@example.org\\nSubject: inbox\\n\\none\\n"); m.set_subdir("cur"); m.set_flags("FRS"); m.set_date(1700000000)
            md.add(m)
            md.add(mailbox.MaildirMessage("From: b@example.org\\nSubject: new\\n\\ntwo\\n"))
            sent = md.add_folder("Sent")
            s = mailbox.MaildirMessage("From: me@example.org\\nSubject: sent\\n\\nthree\\n"); s.set_subdir("cur"); s.set_flags("Sa")
            sent.add(s)
            md.add_folder("Archive.2024")
            """
        let p = try ChildProcess.spawn("/usr/bin/python3", ["-c", script, dir + "/md"]).waitBlocking(timeout: .seconds(60))
        #expect(p.ok, "\(p.stderr)")
        try Data("0 $Forwarded\n".utf8).write(to: URL(fileURLWithPath: dir + "/md/.Sent/dovecot-keywords"))
        #expect(try MaildirReader.folders(at: dir + "/md") == ["INBOX", "Archive/2024", "Sent"])
        let inbox = try MaildirReader.messages(in: dir + "/md", folder: "INBOX")
        #expect(inbox.count == 2)
        #expect(inbox.first { String(decoding: $0.bytes, as: UTF8.self).contains("inbox") }?.flags == [.flagged, .answered, .seen])
        let sent = try MaildirReader.messages(in: dir + "/md", folder: "Sent")
        #expect(sent.count == 1 && sent[0].flags == [.seen] && sent[0].keywords == ["$Forwarded"])
        #expect(try MaildirReader.messages(in: dir + "/md", folder: "Archive/2024").isEmpty)
    }

    @Test("eml-zip: written, read back with flags and dates, listed by unzip")
    func emlZip() throws {
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var writer = try EMLZipWriter(path: dir + "/x.zip")
        for m in MBoxTests.tricky { try writer.add(folder: "INBOX", message: m) }
        try writer.add(folder: "Archive/2024", message: MBoxTests.tricky[0])
        try writer.finish()
        let back = try EMLZipReader.read(path: dir + "/x.zip")
        #expect(back.filter { $0.folder == "INBOX" }.map(\.message) == MBoxTests.tricky)
        #expect(back.filter { $0.folder == "Archive/2024" }.count == 1)
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/unzip") {
            let p = try ChildProcess.spawn("/usr/bin/unzip", ["-t", dir + "/x.zip"]).waitBlocking(timeout: .seconds(60))
            #expect(p.ok, "unzip -t: \(p.stdout)")
        }
    }

    @Test("identity: Message-ID normalized, else the bytes whatever the line endings")
    func identity() {
        #expect(MessageIdentity.key(for: crlf("Message-ID: <Abc@EXAMPLE.org>\n\nx\n")) == MessageIdentity.key(for: Array("message-id:  <Abc@example.ORG>\n\ny\n".utf8)))
        #expect(MessageIdentity.key(for: crlf("Message-ID: <abc@example.org>\n\n")) != MessageIdentity.key(for: crlf("Message-ID: <Abc@example.org>\n\n")))
        #expect(MessageIdentity.key(for: crlf("Subject: x\n\nbody\n")) == MessageIdentity.key(for: Array("Subject: x\n\nbody\n".utf8)))
        #expect(MessageIdentity.key(for: crlf("Subject: x\n\nbody\n")).hasPrefix("sha256:"))
    }
}
