import Foundation
import MIMEParser
import NIOCore
import Testing
@testable import IMAPCore

private func wire(_ r: IMAPResponse) -> String { String(buffer: IMAPResponseEncoder.encode(r)) }
private func u(_ r: UntaggedResponse) -> String { wire(.untagged(r)) }

@Suite("IMAPResponseEncoder")
struct IMAPResponseEncoderTests {
    @Test("tagged, untagged conditions and continuations")
    func conditions() {
        #expect(wire(.tagged(tag: "a1", status: .ok, code: nil, text: "NOOP completed")) == "a1 OK NOOP completed\r\n")
        #expect(wire(.tagged(tag: "a1", status: .no, code: .tryCreate, text: "No such\r\n mailbox")) == "a1 NO [TRYCREATE] No such mailbox\r\n")
        // resp-text needs text (RFC 3501 §9: text = 1*TEXT-CHAR): an empty one becomes "OK".
        #expect(wire(.tagged(tag: "a1", status: .ok, code: .readWrite, text: "")) == "a1 OK [READ-WRITE] OK\r\n")
        #expect(u(.condition(status: .bye, code: nil, text: "Logging out")) == "* BYE Logging out\r\n")
        #expect(u(.condition(status: .preauth, code: .alert, text: "x")) == "* PREAUTH [ALERT] x\r\n")
        #expect(wire(.continuation("Ready for literal data")) == "+ Ready for literal data\r\n")
        #expect(wire(.continuation("")) == "+ \r\n")
    }

    @Test("response codes", arguments: [
        (ResponseCode.alert, "ALERT"), (.parse, "PARSE"), (.readOnly, "READ-ONLY"), (.readWrite, "READ-WRITE"),
        (.tryCreate, "TRYCREATE"), (.uidNotSticky, "UIDNOTSTICKY"), (.closed, "CLOSED"),
        (.badCharset(["UTF-8", "US-ASCII"]), "BADCHARSET (UTF-8 US-ASCII)"), (.badCharset([]), "BADCHARSET"),
        (.capability(["IMAP4rev1", "IDLE", "AUTH=PLAIN"]), "CAPABILITY IMAP4rev1 IDLE AUTH=PLAIN"),
        (.permanentFlags([.seen, .answered, .keyword("$Forwarded"), .wildcard]), "PERMANENTFLAGS (\\Seen \\Answered $Forwarded \\*)"),
        (.permanentFlags([]), "PERMANENTFLAGS ()"),
        (.uidNext(4392), "UIDNEXT 4392"), (.uidValidity(3857529045), "UIDVALIDITY 3857529045"), (.unseen(12), "UNSEEN 12"),
        (.highestModSeq(715194045007), "HIGHESTMODSEQ 715194045007"), (.noModSeq, "NOMODSEQ"),
        (.appendUID(uidValidity: 38505, uid: 3955), "APPENDUID 38505 3955"),
        (.appendUIDs(uidValidity: 38505, uids: "3955:3957"), "APPENDUID 38505 3955:3957"),
        (.copyUID(uidValidity: 38505, source: "304,319:320", destination: "3956:3958"), "COPYUID 38505 304,319:320 3956:3958"),
        (.modified("7,9"), "MODIFIED 7,9"),
        (.unavailable, "UNAVAILABLE"), (.authenticationFailed, "AUTHENTICATIONFAILED"), (.authorizationFailed, "AUTHORIZATIONFAILED"),
        (.expired, "EXPIRED"), (.privacyRequired, "PRIVACYREQUIRED"), (.contactAdmin, "CONTACTADMIN"), (.noPerm, "NOPERM"),
        (.inUse, "INUSE"), (.expungeIssued, "EXPUNGEISSUED"), (.corruption, "CORRUPTION"), (.serverBug, "SERVERBUG"),
        (.clientBug, "CLIENTBUG"), (.cannot, "CANNOT"), (.limit, "LIMIT"), (.overQuota, "OVERQUOTA"),
        (.alreadyExists, "ALREADYEXISTS"), (.nonExistent, "NONEXISTENT"), (.tooBig, "TOOBIG"),
        (.appendLimit(1000), "APPENDLIMIT 1000"), (.other("X-FOO bar]\r\n"), "X-FOO bar"),
    ])
    func codes(_ code: ResponseCode, _ expected: String) {
        #expect(wire(.tagged(tag: "t", status: .ok, code: code, text: "done")) == "t OK [\(expected)] done\r\n")
    }

    @Test("capability, enabled, flags, counts")
    func simple() {
        #expect(u(.capability(["IMAP4rev1", "LITERAL+"])) == "* CAPABILITY IMAP4rev1 LITERAL+\r\n")
        #expect(u(.enabled(["CONDSTORE"])) == "* ENABLED CONDSTORE\r\n")
        #expect(u(.enabled([])) == "* ENABLED\r\n")
        #expect(u(.flags([.answered, .flagged, .deleted, .seen, .draft])) == "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n")
        #expect(u(.exists(23)) == "* 23 EXISTS\r\n")
        #expect(u(.recent(0)) == "* 0 RECENT\r\n")
        #expect(u(.expunge(44)) == "* 44 EXPUNGE\r\n")
        #expect(u(.vanished(earlier: true, uids: "1:3")) == "* VANISHED (EARLIER) 1:3\r\n")
        #expect(u(.vanished(earlier: false, uids: "405,407")) == "* VANISHED 405,407\r\n")
    }

    @Test("SEARCH and ESEARCH")
    func search() {
        #expect(u(.search([1, 2, 3], highestModSeq: nil)) == "* SEARCH 1 2 3\r\n")
        #expect(u(.search([], highestModSeq: nil)) == "* SEARCH\r\n")
        #expect(u(.search([2, 5], highestModSeq: 917162500)) == "* SEARCH 2 5 (MODSEQ 917162500)\r\n")
        #expect(u(.esearch(tag: "A1", uid: true, items: [("MIN", "1"), ("COUNT", "3")])) == "* ESEARCH (TAG \"A1\") UID MIN 1 COUNT 3\r\n")
        #expect(u(.esearch(tag: "A2", uid: false, items: [("ALL", "1:3,5")])) == "* ESEARCH (TAG \"A2\") ALL 1:3,5\r\n")
        #expect(u(.esearch(tag: "", uid: false, items: [])) == "* ESEARCH\r\n")
    }

    @Test("LIST, LSUB, STATUS with modified UTF-7 names")
    func list() {
        #expect(u(.list(attributes: ["\\HasNoChildren", "\\Sent"], delimiter: "/", mailbox: "Sent", lsub: false)) ==
            "* LIST (\\HasNoChildren \\Sent) \"/\" Sent\r\n")
        #expect(u(.list(attributes: [], delimiter: nil, mailbox: "", lsub: false)) == "* LIST () NIL \"\"\r\n")
        #expect(u(.list(attributes: ["\\Noselect"], delimiter: "/", mailbox: "Entwürfe", lsub: true)) ==
            "* LSUB (\\Noselect) \"/\" Entw&APw-rfe\r\n")
        #expect(u(.list(attributes: [], delimiter: "\\", mailbox: "My Folder", lsub: false)) == "* LIST () \"\\\\\" \"My Folder\"\r\n")
        #expect(u(.list(attributes: [], delimiter: ".", mailbox: "inbox", lsub: false)) == "* LIST () \".\" INBOX\r\n")
        #expect(u(.list(attributes: ["\\Subscribed"], delimiter: "/", mailbox: "Foo", lsub: false, childInfoSubscribed: true)) ==
            "* LIST (\\Subscribed) \"/\" Foo (\"CHILDINFO\" (\"SUBSCRIBED\"))\r\n")
        #expect(u(.list(attributes: [], delimiter: "/", mailbox: "a*b", lsub: false)) == "* LIST () \"/\" \"a*b\"\r\n")
        #expect(u(.list(attributes: [], delimiter: "/", mailbox: "NIL", lsub: false)) == "* LIST () \"/\" \"NIL\"\r\n")
        #expect(u(.status(mailbox: "INBOX", items: [StatusItem(.messages, 3), StatusItem(.uidNext, 4)])) == "* STATUS INBOX (MESSAGES 3 UIDNEXT 4)\r\n")
        #expect(u(.status(mailbox: "台北", items: [StatusItem(.highestModSeq, 7)])) == "* STATUS &U,BTFw- (HIGHESTMODSEQ 7)\r\n")
    }

    @Test("NAMESPACE, ID, QUOTA, QUOTAROOT")
    func misc() {
        #expect(u(.namespace(personalPrefix: "", delimiter: "/")) == "* NAMESPACE ((\"\" \"/\")) NIL NIL\r\n")
        #expect(u(.id([.init(key: "name", value: "Sealbox"), .init(key: "os", value: nil)])) == "* ID (\"name\" \"Sealbox\" \"os\" NIL)\r\n")
        #expect(u(.id(nil)) == "* ID NIL\r\n")
        #expect(u(.id([.init(key: "vendor", value: "Ünï")])) == "* ID (\"vendor\" {5}\r\nÜnï)\r\n")
        #expect(u(.quota(root: "", resources: [QuotaResource(name: "STORAGE", usage: 10, limit: 512)])) == "* QUOTA \"\" (STORAGE 10 512)\r\n")
        #expect(u(.quota(root: "", resources: [QuotaResource(name: "STORAGE", usage: 10, limit: 512), QuotaResource(name: "MESSAGE", usage: 1, limit: 2)])) ==
            "* QUOTA \"\" (STORAGE 10 512 MESSAGE 1 2)\r\n")
        #expect(u(.quotaRoot(mailbox: "INBOX", roots: [""])) == "* QUOTAROOT INBOX \"\"\r\n")
        #expect(u(.quotaRoot(mailbox: "Entwürfe", roots: [])) == "* QUOTAROOT Entw&APw-rfe\r\n")
    }

    @Test("FETCH items")
    func fetch() {
        let header = Array("Subject: hi\r\n\r\n".utf8)
        let date = Date(timeIntervalSince1970: 837_596_665)
        #expect(u(.fetch(sequenceNumber: 12, items: [
            .uid(7), .flags([.seen]), .internalDate(date), .rfc822Size(4286),
            .envelope(Array("(NIL \"hi\" NIL NIL NIL NIL NIL NIL NIL NIL)".utf8)),
            .section(name: "BODY[HEADER]", origin: nil, data: header, literal8: false),
        ])) == "* 12 FETCH (UID 7 FLAGS (\\Seen) INTERNALDATE \"17-Jul-1996 09:44:25 +0000\" RFC822.SIZE 4286 "
            + "ENVELOPE (NIL \"hi\" NIL NIL NIL NIL NIL NIL NIL NIL) BODY[HEADER] {15}\r\nSubject: hi\r\n\r\n)\r\n")
        #expect(u(.fetch(sequenceNumber: 1, items: [.section(name: "BODY[]", origin: 0, data: Array("abc".utf8), literal8: false)])) ==
            "* 1 FETCH (BODY[]<0> {3}\r\nabc)\r\n")
        #expect(u(.fetch(sequenceNumber: 1, items: [.section(name: "BINARY[1]", origin: nil, data: [0, 1], literal8: true)])) ==
            "* 1 FETCH (BINARY[1] ~{2}\r\n\0\u{1})\r\n")
        #expect(u(.fetch(sequenceNumber: 1, items: [.section(name: "BODY[1.MIME]", origin: nil, data: nil, literal8: false)])) ==
            "* 1 FETCH (BODY[1.MIME] NIL)\r\n")
        #expect(u(.fetch(sequenceNumber: 2, items: [.binarySize(part: [1, 2], size: 42), .modSeq(624140003), .flags([])])) ==
            "* 2 FETCH (BINARY.SIZE[1.2] 42 MODSEQ (624140003) FLAGS ())\r\n")
        #expect(u(.fetch(sequenceNumber: 3, items: [.body(Array("(\"TEXT\" \"PLAIN\")".utf8)), .bodyStructure(Array("(x)".utf8))])) ==
            "* 3 FETCH (BODY (\"TEXT\" \"PLAIN\") BODYSTRUCTURE (x))\r\n")
        #expect(u(.fetch(sequenceNumber: 3, items: [.internalDate(Date(timeIntervalSince1970: 0))])) ==
            "* 3 FETCH (INTERNALDATE \"01-Jan-1970 00:00:00 +0000\")\r\n")
        #expect(u(.fetch(sequenceNumber: 3, items: [.internalDate(Date(timeIntervalSince1970: -1))])) ==
            "* 3 FETCH (INTERNALDATE \"31-Dec-1969 23:59:59 +0000\")\r\n")
    }

    @Test("strings: atom, quoted, literal")
    func strings() {
        func s(_ x: String) -> String { var b = ByteBuffer(); IMAPResponseEncoder.writeString(x, into: &b); return String(buffer: b) }
        #expect(s("a\"b\\c") == "\"a\\\"b\\\\c\"")
        #expect(s("a\r\nb") == "{4}\r\na\r\nb")
        #expect(s(String(repeating: "x", count: 1024)) == "{1024}\r\n" + String(repeating: "x", count: 1024))
        #expect(s(String(repeating: "x", count: 1023)) == "\"" + String(repeating: "x", count: 1023) + "\"")
    }

    @Test("encoded strings and mailbox names parse back to the same value", arguments: [
        "", "plain", "with space", "q\"uote\\back", "line\r\nbreak", "Grüße", "%*", "NIL", "a]b", "(x)", "{3}",
        String(repeating: "y", count: 2000), "Entwürfe/台北", "&", "&-",
    ])
    func roundTrip(_ value: String) throws {
        // as a string (ID value)
        let id = Array(IMAPResponseEncoder.encode(.untagged(.id([.init(key: "k", value: value)]))).readableBytesView)
        var command = ByteBuffer(string: "t ")
        command.writeBytes(id.dropFirst(2).dropLast(2))
        let parsed = try IMAPCommandParser.parse(command).get()
        #expect(parsed.kind == .id([.init(key: "k", value: value)]))
        // as a mailbox name (LIST)
        let list = Array(IMAPResponseEncoder.encode(.untagged(.list(attributes: [], delimiter: "/", mailbox: value, lsub: false))).readableBytesView)
        var select = ByteBuffer(string: "t SELECT ")
        select.writeBytes(list.dropFirst("* LIST () \"/\" ".utf8.count).dropLast(2))
        #expect(try IMAPCommandParser.parse(select).get().kind == .select(mailbox: value, condStore: false))
    }

    @Test("modified UTF-7 round trips", arguments: [
        ("Entwürfe", "Entw&APw-rfe"), ("~peter/mail/台北/日本語", "~peter/mail/&U,BTFw-/&ZeVnLIqe-"),
        ("Tom & Jerry", "Tom &- Jerry"), ("INBOX", "INBOX"), ("", ""), ("😀", "&2D3eAA-"), ("a\u{7F}b", "a&AH8-b"),
        ("Отправленные", "&BB4EQgQ,BEAEMAQyBDsENQQ9BD0ESwQ1-"), ("ü&ü", "&APw-&-&APw-"),
    ])
    func mutf7(_ unicode: String, _ wire: String) {
        #expect(ModifiedUTF7.encode(unicode) == wire)
        #expect(ModifiedUTF7.decode(wire) == unicode)
    }

    @Test("invalid modified UTF-7", arguments: ["&Jjo", "&", "&AGE-", "a&AP-b", "&U,BTF-", "ü", "&2D0-", "&Jjo!-", "a\tb"])
    func mutf7Invalid(_ wire: String) {
        #expect(ModifiedUTF7.decode(wire) == nil)
    }

    @Test("FETCH response names")
    func responseNames() {
        #expect(FetchAttribute.bodySection(section: IMAPSection(part: [1], kind: .headerFields(["From", "to"])), partial: nil, peek: true).responseName
            == "BODY[1.HEADER.FIELDS (FROM TO)]")
        #expect(FetchAttribute.bodySection(section: IMAPSection(), partial: .init(offset: 0, length: 10), peek: false).responseName == "BODY[]")
        #expect(FetchAttribute.bodySection(section: IMAPSection(part: [2], kind: .mime), partial: nil, peek: false).responseName == "BODY[2.MIME]")
        #expect(FetchAttribute.bodySection(section: IMAPSection(part: [], kind: .headerFieldsNot(["X-A"])), partial: nil, peek: false).responseName
            == "BODY[HEADER.FIELDS.NOT (X-A)]")
        #expect(FetchAttribute.bodySection(section: IMAPSection(part: [1, 2], kind: .text), partial: nil, peek: false).responseName == "BODY[1.2.TEXT]")
        #expect(FetchAttribute.binary(part: [1], partial: nil, peek: true).responseName == "BINARY[1]")
        #expect(FetchAttribute.binarySize(part: [1]).responseName == "BINARY.SIZE[1]")
        #expect(FetchAttribute.rfc822.responseName == "RFC822")
        #expect(FetchAttribute.rfc822Header.responseName == "RFC822.HEADER")
        #expect(FetchAttribute.rfc822Text.responseName == "RFC822.TEXT")
        #expect(FetchAttribute.modSeq.responseName == "MODSEQ")
    }
}
