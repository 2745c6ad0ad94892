import Foundation
import MIMEParser
import NIOCore
import Testing
@testable import IMAPCore

private func parse(_ s: String, limits: IMAPLimits = IMAPLimits()) -> Result<IMAPCommand, IMAPParseError> {
    IMAPCommandParser.parse(ByteBuffer(string: s), limits: limits)
}

private func cmd(_ kind: IMAPCommand.Kind, tag: String = "a1") -> IMAPCommand { IMAPCommand(tag: tag, kind: kind) }
private func set(_ ranges: SequenceRange...) -> SequenceSet { SequenceSet(ranges) }
private func n(_ v: UInt32) -> SequenceRange { SequenceRange(.number(v)) }
private func r(_ a: UInt32, _ b: UInt32) -> SequenceRange { SequenceRange(.number(a), .number(b)) }
private func section(_ part: [Int] = [], _ kind: IMAPSection.Kind = .full) -> IMAPSection { IMAPSection(part: part, kind: kind) }

private let valid: [(String, IMAPCommand)] = [
    // any state
    ("a1 CAPABILITY", cmd(.capability)),
    ("a1 noop", cmd(.noop)),
    ("a1 Logout", cmd(.logout)),
    ("x]y NOOP", cmd(.noop, tag: "x]y")),
    ("a1 ID NIL", cmd(.id(nil))),
    ("a1 ID ()", cmd(.id([]))),
    ("a1 ID (\"name\" \"Thunderbird\" \"version\" NIL)",
     cmd(.id([.init(key: "name", value: "Thunderbird"), .init(key: "version", value: nil)]))),
    ("a1 ID ({4}\r\nname \"x\\\"y\")", cmd(.id([.init(key: "name", value: "x\"y")]))),
    // not authenticated
    ("a1 STARTTLS", cmd(.startTLS)),
    ("a1 AUTHENTICATE plain", cmd(.authenticate(mechanism: "PLAIN", initialResponse: nil))),
    ("a1 AUTHENTICATE PLAIN AHVzZXIAcGFzcw==", cmd(.authenticate(mechanism: "PLAIN", initialResponse: "AHVzZXIAcGFzcw=="))),
    ("a1 AUTHENTICATE XOAUTH2 =", cmd(.authenticate(mechanism: "XOAUTH2", initialResponse: ""))),
    ("a1 LOGIN fred secret", cmd(.login(user: "fred", password: "secret"))),
    ("a1 LOGIN \"fred@example.com\" \"p a\\\\ss\"", cmd(.login(user: "fred@example.com", password: "p a\\ss"))),
    ("a1 LOGIN {4}\r\nfred {6+}\r\nsec\"et", cmd(.login(user: "fred", password: "sec\"et"))),
    ("a1 LOGIN {4}\nfred x", cmd(.login(user: "fred", password: "x"))),
    ("a1 LOGIN fred \"pässwörd\"", cmd(.login(user: "fred", password: "pässwörd"))),
    // authenticated
    ("a1 ENABLE CONDSTORE utf8=accept", cmd(.enable(["CONDSTORE", "UTF8=ACCEPT"]))),
    ("a1 SELECT inbox", cmd(.select(mailbox: "INBOX", condStore: false))),
    ("a1 SELECT \"INBOX\" (CONDSTORE)", cmd(.select(mailbox: "INBOX", condStore: true))),
    ("a1 EXAMINE Entw&APw-rfe", cmd(.examine(mailbox: "Entwürfe", condStore: false))),
    ("a1 EXAMINE \"~peter/mail/&U,BTFw-/&ZeVnLIqe-\"", cmd(.examine(mailbox: "~peter/mail/台北/日本語", condStore: false))),
    ("a1 SELECT &Jjo", cmd(.select(mailbox: "&Jjo", condStore: false))),
    ("a1 SELECT Entwürfe-utf8".replacingOccurrences(of: "Entwürfe-utf8", with: "\"Entwürfe\""), cmd(.select(mailbox: "Entwürfe", condStore: false))),
    ("a1 CREATE Drafts", cmd(.create(mailbox: "Drafts", specialUse: []))),
    ("a1 CREATE MyDrafts (USE (\\Drafts))", cmd(.create(mailbox: "MyDrafts", specialUse: ["\\Drafts"]))),
    ("a1 CREATE X (USE (\\Sent \\Archive))", cmd(.create(mailbox: "X", specialUse: ["\\Sent", "\\Archive"]))),
    ("a1 DELETE \"Old Stuff\"", cmd(.delete(mailbox: "Old Stuff"))),
    ("a1 RENAME a b", cmd(.rename(from: "a", to: "b"))),
    ("a1 SUBSCRIBE news", cmd(.subscribe(mailbox: "news"))),
    ("a1 UNSUBSCRIBE \"news\"", cmd(.unsubscribe(mailbox: "news"))),
    ("a1 LIST \"\" *", cmd(.list(ListCommand(reference: "", patterns: ["*"])))),
    ("a1 LIST \"\" %", cmd(.list(ListCommand(reference: "", patterns: ["%"])))),
    ("a1 LIST ~/Mail/ %/foo]", cmd(.list(ListCommand(reference: "~/Mail/", patterns: ["%/foo]"])))),
    ("a1 LIST \"\" \"\"", cmd(.list(ListCommand(reference: "", patterns: [""])))),
    ("a1 LIST (SUBSCRIBED) \"\" (pat1 \"pat2\") RETURN (CHILDREN special-use STATUS (MESSAGES UNSEEN))",
     cmd(.list(ListCommand(reference: "", patterns: ["pat1", "pat2"], selectOptions: ["SUBSCRIBED"],
                           returnOptions: ["CHILDREN", "SPECIAL-USE"], returnStatus: [.messages, .unseen])))),
    ("a1 LIST () \"\" % RETURN ()", cmd(.list(ListCommand(reference: "", patterns: ["%"])))),
    ("a1 LSUB \"\" news.*", cmd(.lsub(reference: "", pattern: "news.*"))),
    ("a1 NAMESPACE", cmd(.namespace)),
    ("a1 STATUS blurdybloop (UIDNEXT MESSAGES highestmodseq)",
     cmd(.status(mailbox: "blurdybloop", attributes: [.uidNext, .messages, .highestModSeq]))),
    ("a1 STATUS INBOX (MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN DELETED SIZE)",
     cmd(.status(mailbox: "INBOX", attributes: [.messages, .recent, .uidNext, .uidValidity, .unseen, .deleted, .size]))),
    ("a1 GETQUOTA \"\"", cmd(.getQuota(root: ""))),
    ("a1 GETQUOTAROOT INBOX", cmd(.getQuotaRoot(mailbox: "INBOX"))),
    ("a1 SETQUOTA \"\" (STORAGE 512 messages 1000)",
     cmd(.setQuota(root: "", limits: [.init(resource: "STORAGE", limit: 512), .init(resource: "MESSAGES", limit: 1000)]))),
    ("a1 SETQUOTA \"\" ()", cmd(.setQuota(root: "", limits: []))),
    ("a1 IDLE", cmd(.idle)),
    // selected
    ("a1 CHECK", cmd(.check)),
    ("a1 CLOSE", cmd(.close)),
    ("a1 UNSELECT", cmd(.unselect)),
    ("a1 EXPUNGE", cmd(.expunge)),
    ("a1 UID EXPUNGE 3000:3002", cmd(.uidExpunge(set(r(3000, 3002))))),
    ("a1 uid expunge 1,3:*", cmd(.uidExpunge(set(n(1), SequenceRange(.number(3), .star)))))
    ,
    ("a1 COPY 2:4 MEETING", cmd(.copy(set(r(2, 4)), mailbox: "MEETING", uid: false))),
    ("a1 UID COPY 1:* Archive", cmd(.copy(set(SequenceRange(.number(1), .star)), mailbox: "Archive", uid: true))),
    ("a1 MOVE * Trash", cmd(.move(set(SequenceRange(.star)), mailbox: "Trash", uid: false))),
    ("a1 UID MOVE 42 \"Sent Items\"", cmd(.move(set(n(42)), mailbox: "Sent Items", uid: true))),
    ("a1 COPY $ inbox", cmd(.copy(.lastResult, mailbox: "INBOX", uid: false))),
    ("a1 COPY 4294967295 x", cmd(.copy(set(n(4_294_967_295)), mailbox: "x", uid: false))),
    // STORE
    ("a1 STORE 2:4 +FLAGS (\\Deleted)", cmd(.store(set(r(2, 4)), StoreData(operation: .add, silent: false, flags: [.deleted]), uid: false))),
    ("a1 STORE 1 -flags.silent (\\seen $Forwarded)",
     cmd(.store(set(n(1)), StoreData(operation: .remove, silent: true, flags: [.seen, .keyword("$Forwarded")]), uid: false))),
    ("a1 UID STORE 1:3 FLAGS \\Answered \\Flagged \\Draft NonJunk \\Custom",
     cmd(.store(set(r(1, 3)), StoreData(operation: .replace, silent: false,
                                         flags: [.answered, .flagged, .draft, .keyword("NonJunk"), .extensionFlag("Custom")]), uid: true))),
    ("a1 STORE 1 FLAGS ()", cmd(.store(set(n(1)), StoreData(operation: .replace, silent: false, flags: []), uid: false))),
    ("a1 STORE 7,9 (UNCHANGEDSINCE 320162338) +FLAGS.SILENT (\\Deleted)",
     cmd(.store(set(n(7), n(9)), StoreData(operation: .add, silent: true, flags: [.deleted], unchangedSince: 320_162_338), uid: false))),
    // FETCH
    ("a1 FETCH 1 ALL", cmd(.fetch(set(n(1)), [.flags, .internalDate, .rfc822Size, .envelope], uid: false, changedSince: nil))),
    ("a1 FETCH 1 fast", cmd(.fetch(set(n(1)), [.flags, .internalDate, .rfc822Size], uid: false, changedSince: nil))),
    ("a1 FETCH 1 FULL", cmd(.fetch(set(n(1)), [.flags, .internalDate, .rfc822Size, .envelope, .body], uid: false, changedSince: nil))),
    ("a1 FETCH 2:4 FLAGS", cmd(.fetch(set(r(2, 4)), [.flags], uid: false, changedSince: nil))),
    ("a1 FETCH 1 (UID RFC822.SIZE FLAGS BODY.PEEK[HEADER.FIELDS (From To Cc Subject Date)])",
     cmd(.fetch(set(n(1)), [.uid, .rfc822Size, .flags,
                            .bodySection(section: section([], .headerFields(["From", "To", "Cc", "Subject", "Date"])), partial: nil, peek: true)],
                uid: false, changedSince: nil))),
    ("a1 UID FETCH 1:* (FLAGS) (CHANGEDSINCE 12345)", cmd(.fetch(set(SequenceRange(.number(1), .star)), [.flags], uid: true, changedSince: 12345))),
    ("a1 UID FETCH 300:500 (FLAGS) (CHANGEDSINCE 12345 VANISHED)",
     cmd(.fetch(set(r(300, 500)), [.flags], uid: true, changedSince: 12345, vanished: true))),
    ("a1 UID FETCH 1:* FLAGS (vanished changedsince 7)",
     cmd(.fetch(set(SequenceRange(.number(1), .star)), [.flags], uid: true, changedSince: 7, vanished: true))),
    // RFC 7162 §3.2.5: QRESYNC (uidvalidity modseq [known-uids] [seq-match-data])
    ("a1 SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541))",
     cmd(.select(mailbox: "INBOX", condStore: false, qresync: QResyncParameters(
        uidValidity: 67890007, modSeq: 20050715194045000, knownUIDs: set(n(41), r(43, 211), r(214, 541)))))),
    ("a1 EXAMINE INBOX (QRESYNC (67890007 90060115194045000 1:29997 (5000,7500,9000,9990:9999 15000,22500,27000,29970,29973,29976,29979,29982,29985,29988,29991,29994,29997)))",
     cmd(.examine(mailbox: "INBOX", condStore: false, qresync: QResyncParameters(
        uidValidity: 67890007, modSeq: 90060115194045000, knownUIDs: set(r(1, 29997)),
        knownSequenceNumbers: set(n(5000), n(7500), n(9000), r(9990, 9999)),
        knownSequenceUIDs: set(n(15000), n(22500), n(27000), n(29970), n(29973), n(29976), n(29979), n(29982), n(29985),
                               n(29988), n(29991), n(29994), n(29997)))))),
    ("a1 SELECT INBOX (QRESYNC (1 0 (1:2 5,9)) CONDSTORE)",
     cmd(.select(mailbox: "INBOX", condStore: true, qresync: QResyncParameters(
        uidValidity: 1, modSeq: 0, knownSequenceNumbers: set(r(1, 2)), knownSequenceUIDs: set(n(5), n(9)))))),
    ("a1 UNAUTHENTICATE", cmd(.unauthenticate)),
    ("a1 FETCH 1 (BODY[] BODY[1.2.MIME] BODY[2.HEADER] body[3.text] BODY[TEXT]<0.2048> BODY.PEEK[]<100.10>)",
     cmd(.fetch(set(n(1)), [
        .bodySection(section: section(), partial: nil, peek: false),
        .bodySection(section: section([1, 2], .mime), partial: nil, peek: false),
        .bodySection(section: section([2], .header), partial: nil, peek: false),
        .bodySection(section: section([3], .text), partial: nil, peek: false),
        .bodySection(section: section([], .text), partial: .init(offset: 0, length: 2048), peek: false),
        .bodySection(section: section(), partial: .init(offset: 100, length: 10), peek: true),
     ], uid: false, changedSince: nil))),
    ("a1 FETCH 1 BODY[1.HEADER.FIELDS.NOT (\"X-Spam\" {5}\r\nX-Foo)]",
     cmd(.fetch(set(n(1)), [.bodySection(section: section([1], .headerFieldsNot(["X-Spam", "X-Foo"])), partial: nil, peek: false)], uid: false, changedSince: nil))),
    ("a1 FETCH 1 (ENVELOPE BODYSTRUCTURE BODY INTERNALDATE RFC822 RFC822.HEADER RFC822.TEXT MODSEQ BODY[2])",
     cmd(.fetch(set(n(1)), [.envelope, .bodyStructure, .body, .internalDate, .rfc822, .rfc822Header, .rfc822Text, .modSeq,
                            .bodySection(section: section([2]), partial: nil, peek: false)], uid: false, changedSince: nil))),
    ("a1 FETCH 1 (BINARY[1.2]<0.100> BINARY.PEEK[] BINARY.SIZE[3])",
     cmd(.fetch(set(n(1)), [.binary(part: [1, 2], partial: .init(offset: 0, length: 100), peek: false),
                            .binary(part: [], partial: nil, peek: true), .binarySize(part: [3])], uid: false, changedSince: nil))),
    // SEARCH
    ("a1 SEARCH ALL", cmd(.search(charset: nil, key: .all, uid: false, returnOptions: nil))),
    ("a1 SEARCH FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"",
     cmd(.search(charset: nil, key: .and([.flagged, .since(IMAPDate(year: 1994, month: 2, day: 1)), .not(.from("Smith"))]), uid: false, returnOptions: nil))),
    ("a1 UID SEARCH CHARSET UTF-8 TEXT {6}\r\nXXXXXX",
     cmd(.search(charset: "UTF-8", key: .text("XXXXXX"), uid: true, returnOptions: nil))),
    ("a1 SEARCH OR (SEEN UNSEEN) (NEW OLD RECENT)",
     cmd(.search(charset: nil, key: .or(.and([.seen, .unseen]), .and([.new, .old, .recent])), uid: false, returnOptions: nil))),
    ("a1 SEARCH ((DELETED))", cmd(.search(charset: nil, key: .deleted, uid: false, returnOptions: nil))),
    ("a1 SEARCH 1:5,7 UID 10:* ANSWERED UNANSWERED DRAFT UNDRAFT UNDELETED UNFLAGGED",
     cmd(.search(charset: nil, key: .and([.sequenceNumbers(set(r(1, 5), n(7))), .uid(set(SequenceRange(.number(10), .star))),
                                          .answered, .unanswered, .draft, .undraft, .undeleted, .unflagged]), uid: false, returnOptions: nil))),
    ("a1 SEARCH KEYWORD $Junk UNKEYWORD NonJunk LARGER 1000 SMALLER 99999999999",
     cmd(.search(charset: nil, key: .and([.keyword("$Junk"), .unkeyword("NonJunk"), .larger(1000), .smaller(99_999_999_999)]), uid: false, returnOptions: nil))),
    ("a1 SEARCH BEFORE \"01-Jan-2020\" ON 29-feb-2024 SENTBEFORE 1-Mar-2000 SENTON 2-Mar-2000 SENTSINCE 3-Mar-2000",
     cmd(.search(charset: nil, key: .and([.before(IMAPDate(year: 2020, month: 1, day: 1)), .on(IMAPDate(year: 2024, month: 2, day: 29)),
                                          .sentBefore(IMAPDate(year: 2000, month: 3, day: 1)), .sentOn(IMAPDate(year: 2000, month: 3, day: 2)),
                                          .sentSince(IMAPDate(year: 2000, month: 3, day: 3))]), uid: false, returnOptions: nil))),
    ("a1 SEARCH TO a CC b BCC c SUBJECT \"d e\" BODY f HEADER X-Mailer \"\"",
     cmd(.search(charset: nil, key: .and([.to("a"), .cc("b"), .bcc("c"), .subject("d e"), .body("f"), .header(name: "X-Mailer", value: "")]), uid: false, returnOptions: nil))),
    ("a1 SEARCH MODSEQ 620162338", cmd(.search(charset: nil, key: .modSeq(620_162_338), uid: false, returnOptions: nil))),
    ("a1 SEARCH MODSEQ \"/flags/\\\\draft\" all 620162338", cmd(.search(charset: nil, key: .modSeq(620_162_338), uid: false, returnOptions: nil))),
    ("a1 SEARCH YOUNGER 3600 OLDER 60", cmd(.search(charset: nil, key: .and([.younger(3600), .older(60)]), uid: false, returnOptions: nil))),
    ("a1 SEARCH RETURN (MIN MAX COUNT ALL SAVE) UNSEEN",
     cmd(.search(charset: nil, key: .unseen, uid: false, returnOptions: ["MIN", "MAX", "COUNT", "ALL", "SAVE"]))),
    ("a1 UID SEARCH RETURN () CHARSET us-ascii $", cmd(.search(charset: "us-ascii", key: .sequenceNumbers(.lastResult), uid: true, returnOptions: []))),
    // RFC 5267 §4 (CONTEXT=SEARCH): PARTIAL (and RFC 9394's counted from the end), CONTEXT, UPDATE; CANCELUPDATE
    ("a1 UID SEARCH RETURN (PARTIAL 1:10 UPDATE CONTEXT) UNSEEN",
     cmd(.search(charset: nil, key: .unseen, uid: true, returnOptions: ["PARTIAL", "UPDATE", "CONTEXT"], partial: PartialRange(1, 10)))),
    ("a1 SEARCH RETURN (COUNT partial 500:400) ALL",
     cmd(.search(charset: nil, key: .all, uid: false, returnOptions: ["COUNT", "PARTIAL"], partial: PartialRange(400, 500)))),
    ("a1 SEARCH RETURN (PARTIAL -1:-100) ALL",
     cmd(.search(charset: nil, key: .all, uid: false, returnOptions: ["PARTIAL"], partial: PartialRange(1, 100, fromEnd: true)))),
    ("a1 CANCELUPDATE \"b01\" {3}\r\nb02", cmd(.cancelUpdate(["b01", "b02"]))),
    ("a1 SEARCH NOT NOT OR 1 2 3", cmd(.search(charset: nil, key: .and([.not(.not(.or(.sequenceNumbers(set(n(1))), .sequenceNumbers(set(n(2)))))),
                                                                        .sequenceNumbers(set(n(3)))]), uid: false, returnOptions: nil))),
]

private let malformed: [(String, String?)] = [
    ("", nil),
    ("+tag NOOP", nil),
    ("a*b NOOP", nil),
    (" NOOP", nil),
    ("a1", "a1"),
    ("a1 ", "a1"),
    ("a1 FOO", "a1"),
    ("a1 NOOP extra", "a1"),
    ("a1  NOOP", "a1"),
    ("a1 SELECT", "a1"),
    ("a1 SELECT ", "a1"),
    ("a1 SELECT INBOX (XRESYNC (1 2))", "a1"),
    ("a1 LOGIN fred", "a1"),
    ("a1 LOGIN \"fred", "a1"),
    ("a1 LOGIN \"fr\red\" x", "a1"),
    ("a1 LOGIN {10}\r\nfred x", "a1"),
    ("a1 LOGIN {4}\r\nfr\0d x", "a1"),
    ("a1 LOGIN {4}fred x", "a1"),
    ("a1 LOGIN fr\0ed x", "a1"),
    ("a1 SEARCH RETURN (PARTIAL 1:10 ALL) UNSEEN", "a1"),
    ("a1 SEARCH RETURN (PARTIAL 1:10 PARTIAL 20:30) UNSEEN", "a1"),
    ("a1 SEARCH RETURN (PARTIAL 0:10) UNSEEN", "a1"),
    ("a1 SEARCH RETURN (PARTIAL 1:*) UNSEEN", "a1"),
    ("a1 SEARCH RETURN (PARTIAL -1:10) UNSEEN", "a1"),
    ("a1 SEARCH RETURN (PARTIAL 10) UNSEEN", "a1"),
    ("a1 SEARCH RETURN (PARTIAL) UNSEEN", "a1"),
    ("a1 SEARCH RETURN (UPDATE UPDATE) UNSEEN", "a1"),
    ("a1 CANCELUPDATE", "a1"),
    ("a1 CANCELUPDATE b01", "a1"),
    ("a1 CANCELUPDATE \"b01\" ", "a1"),
    ("a1 FETCH 0 FLAGS", "a1"),
    ("a1 FETCH 4294967296 FLAGS", "a1"),
    ("a1 FETCH 99999999999999999999999999 FLAGS", "a1"),
    ("a1 FETCH 1: FLAGS", "a1"),
    ("a1 FETCH 1,,2 FLAGS", "a1"),
    ("a1 FETCH 1 (FLAGS", "a1"),
    ("a1 FETCH 1 BODY[HEADER.FIELDS ()]", "a1"),
    ("a1 FETCH 1 BODY[MIME]", "a1"),
    ("a1 FETCH 1 BODY[0]", "a1"),
    ("a1 FETCH 1 BODY[1]<0.0>", "a1"),
    ("a1 FETCH 1 BODY.PEEK", "a1"),
    ("a1 FETCH 1 FOO", "a1"),
    ("a1 FETCH 1 (FLAGS) (CHANGEDSINCE 9223372036854775808)", "a1"),
    ("a1 UID FETCH 1 FLAGS (VANISHED VANISHED)", "a1"),
    ("a1 UID FETCH 1 FLAGS (VANISHED)", "a1"),
    ("a1 FETCH 1 FLAGS (CHANGEDSINCE 1 VANISHED)", "a1"),
    ("a1 UID FETCH 1 FLAGS (CHANGEDSINCE 1 CHANGEDSINCE 2)", "a1"),
    ("a1 UID FETCH 1 FLAGS ()", "a1"),
    ("a1 SELECT INBOX (QRESYNC)", "a1"),
    ("a1 SELECT INBOX (QRESYNC ())", "a1"),
    ("a1 SELECT INBOX (QRESYNC (0 5))", "a1"),
    ("a1 SELECT INBOX (QRESYNC (1))", "a1"),
    ("a1 SELECT INBOX (QRESYNC (1 x))", "a1"),
    ("a1 SELECT INBOX (QRESYNC (1 5 1:*))", "a1"),
    ("a1 SELECT INBOX (QRESYNC (1 5 $))", "a1"),
    ("a1 SELECT INBOX (QRESYNC (1 5 1:9 (1:* 1:3)))", "a1"),
    ("a1 SELECT INBOX (QRESYNC (1 5 1:9 (1:2 1:3)))", "a1"),
    ("a1 SELECT INBOX (QRESYNC (1 5 1:9 (1:2)))", "a1"),
    ("a1 SELECT INBOX (QRESYNC (1 5 1:9 ))", "a1"),
    ("a1 SELECT INBOX (QRESYNC (1 5) QRESYNC (1 5))", "a1"),
    ("a1 UNAUTHENTICATE now", "a1"),
    ("a1 FETCH 1 (FLAGS) (VANISHED)", "a1"),
    ("a1 STORE 1 +FLAGS (\\Recent)", "a1"),
    ("a1 STORE 1 +FLAGS \\*", "a1"),
    ("a1 STORE 1 FLAGZ (\\Seen)", "a1"),
    ("a1 STORE 1 (UNCHANGEDSINCE x) FLAGS (\\Seen)", "a1"),
    ("a1 SEARCH", "a1"),
    ("a1 SEARCH FOO", "a1"),
    ("a1 SEARCH (SEEN", "a1"),
    ("a1 SEARCH SEEN)", "a1"),
    ("a1 SEARCH OR SEEN", "a1"),
    ("a1 SEARCH SINCE 30-Feb-2020", "a1"),
    ("a1 SEARCH SINCE 1-Foo-2020", "a1"),
    ("a1 SEARCH SINCE 1-Feb-20", "a1"),
    ("a1 SEARCH LARGER 99999999999999999999", "a1"),
    ("a1 SEARCH MODSEQ 9223372036854775808", "a1"),
    ("a1 SEARCH YOUNGER 0", "a1"),
    ("a1 SEARCH " + String(repeating: "(", count: 10_000) + "ALL" + String(repeating: ")", count: 10_000), "a1"),
    ("a1 SEARCH " + String(repeating: "NOT ", count: 10_000) + "ALL", "a1"),
    ("a1 SEARCH " + String(repeating: "OR ALL ", count: 10_000) + "ALL", "a1"),
    ("a1 STATUS INBOX ()", "a1"),
    ("a1 STATUS INBOX (FOO)", "a1"),
    ("a1 LIST \"\"", "a1"),
    ("a1 LIST \"\" * RETURN", "a1"),
    ("a1 UID FOO 1", "a1"),
    ("a1 UID", "a1"),
    ("a1 APPEND INBOX", "a1"),
    ("a1 ENABLE", "a1"),
    ("a1 ID", "a1"),
    ("a1 ID (\"a\")", "a1"),
    ("a1 AUTHENTICATE", "a1"),
    ("a1 AUTHENTICATE PLAIN a b", "a1"),
    ("a1 SETQUOTA \"\" (STORAGE)", "a1"),
    ("a1 CREATE x (USE (Drafts))", "a1"),
    ("a1 COPY 1", "a1"),
    ("a1 EXPUNGE\0", "a1"),
]

@Suite("IMAPCommandParser")
struct IMAPCommandParserTests {
    @Test("valid commands", arguments: valid)
    func validCommand(_ input: String, _ expected: IMAPCommand) {
        #expect(parse(input) == .success(expected))
    }

    @Test("malformed commands give BAD with the tag", arguments: malformed)
    func malformedCommand(_ input: String, _ tag: String?) {
        guard case .failure(let error) = parse(input) else {
            Issue.record("parsed: \(input.prefix(80))")
            return
        }
        #expect(error.tag == tag)
        #expect(!error.message.isEmpty && error.message.count < 80)
    }

    @Test("helpful messages")
    func messages() {
        #expect(parse("a1 FOO") == .failure(IMAPParseError(tag: "a1", message: "Unknown command FOO")))
        #expect(parse("a1 SELECT") == .failure(IMAPParseError(tag: "a1", message: "Missing mailbox name")))
        #expect(parse("a1 FETCH 1:x FLAGS") == .failure(IMAPParseError(tag: "a1", message: "Invalid sequence set")))
        #expect(parse("a1 SEARCH " + String(repeating: "(", count: 100) + "ALL") == .failure(IMAPParseError(tag: "a1", message: "Too deeply nested")))
    }

    @Test("list item limit")
    func listItems() {
        var limits = IMAPLimits()
        // The limit counts the items of one command (sequence ranges, attributes, keys, flags).
        limits.maxListItems = 5
        #expect(throws: Never.self) { try parse("a1 FETCH 1,2,3 (FLAGS UID)", limits: limits).get() }
        #expect(parse("a1 FETCH 1,2,3,4,5,6 FLAGS", limits: limits).isFailure)
        #expect(parse("a1 SEARCH SEEN SEEN SEEN SEEN SEEN SEEN", limits: limits).isFailure)
        #expect(parse("a1 STORE 1 FLAGS (a b c d e f)", limits: limits).isFailure)
    }

    @Test("tag(of:)")
    func tagOf() {
        #expect(IMAPCommandParser.tag(of: ByteBuffer(string: "A001 FOO bar")) == "A001")
        #expect(IMAPCommandParser.tag(of: ByteBuffer(string: "A001")) == "A001")
        #expect(IMAPCommandParser.tag(of: ByteBuffer(string: "+ x")) == nil)
        #expect(IMAPCommandParser.tag(of: ByteBuffer(string: "a(b c")) == nil)
        #expect(IMAPCommandParser.tag(of: ByteBuffer(string: "")) == nil)
    }

    @Test("APPEND header")
    func appendHeader() throws {
        func header(_ s: String, _ size: Int) -> Result<AppendHeader, IMAPParseError> {
            IMAPCommandParser.parseAppendHeader(ByteBuffer(string: s), literalSize: size)
        }
        #expect(header("A003 APPEND saved-messages (\\Seen) {310}", 310) ==
            .success(AppendHeader(tag: "A003", mailbox: "saved-messages", flags: [.seen], internalDate: nil, literalSize: 310, synchronizing: true)))
        let date = Date(timeIntervalSince1970: 837_596_665)  // 1996-07-17 09:44:25 UTC
        #expect(header("A1 append inbox \"17-Jul-1996 02:44:25 -0700\" {5+}", 5) ==
            .success(AppendHeader(tag: "A1", mailbox: "INBOX", flags: [], internalDate: date, literalSize: 5, synchronizing: false)))
        #expect(header("A1 APPEND Drafts (\\Draft $MDNSent) \" 7-Jul-1996 02:44:25 +0000\" ~{5}", 5) ==
            .success(AppendHeader(tag: "A1", mailbox: "Drafts", flags: [.draft, .keyword("$MDNSent")],
                                  internalDate: Date(timeIntervalSince1970: 836_707_465), literalSize: 5, synchronizing: true, binary: true)))
        #expect(header("A1 APPEND {12}\r\nEntw&APw-rfe () {1}", 1) ==
            .success(AppendHeader(tag: "A1", mailbox: "Entwürfe", flags: [], internalDate: nil, literalSize: 1, synchronizing: true)))
        #expect(header("R1 REPLACE 4 Drafts (\\Draft) {5+}", 5) ==
            .success(AppendHeader(tag: "R1", mailbox: "Drafts", flags: [.draft], internalDate: nil, literalSize: 5, synchronizing: false,
                                  replacing: ReplaceTarget(set: set(SequenceRange(.number(4))), uid: false))))
        #expect(try header("R2 uid replace 1000 INBOX {5}", 5).get().replacing?.uid == true)
        #expect(try header("R2 UID REPLACE * INBOX {5}", 5).get().replacing != nil)
        for bad in ["R1 REPLACE Drafts {5}", "R1 REPLACE 1:2 Drafts {5}", "R1 REPLACE 1,2 Drafts {5}", "R1 REPLACE $ Drafts {5}",
                    "R1 UID REPLACE 0 Drafts {5}", "R1 UID  REPLACE 1 Drafts {5}", "R1 REPLACE 1 {5}", "R1 UID APPEND INBOX {5}"] {
            guard case .failure(let e) = header(bad, 5) else { Issue.record("accepted \(bad)"); continue }
            #expect(e.tag == "R1")
        }
        for bad in ["A1 APPEND INBOX", "A1 APPEND {5}", "A1 APPEND INBOX (\\Recent) {5}", "A1 APPEND INBOX \"31-Feb-1996 02:44:25 -0700\" {5}",
                    "A1 APPEND INBOX \"17-Jul-1996 25:44:25 -0700\" {5}", "A1 APPEND INBOX {6}", "A1 NOOP {5}", "A1 APPEND INBOX {5} x"] {
            guard case .failure(let e) = header(bad, 5) else { Issue.record("accepted \(bad)"); continue }
            #expect(e.tag == "A1")
        }
    }
}

extension Result {
    var isFailure: Bool { if case .failure = self { true } else { false } }
}
