/// What a command or test accepts: its extension, tags, positional arguments, sub-tests and block.
/// The validator checks a parse tree against these (RFC 5228 §2.6, §2.7 and each extension's grammar).
struct SieveCommandSpec: Sendable {
    enum Param: Sendable, Hashable {
        case none, string, stringList, number

        var noun: String {
            switch self {
            case .none: return "nothing"
            case .string: return "a string"
            case .stringList: return "a string list"
            case .number: return "a number"
            }
        }
    }

    enum SubTests: Sendable, Hashable { case none, one, list }

    struct Tag: Sendable {
        var ext: String?
        var param: Param
        /// Tags of one group exclude each other (match type, comparator, address part, …).
        var group: String?
    }

    var isTest: Bool
    /// The capability that makes it available, nil for the core language.
    var ext: String?
    var tags: [String: Tag] = [:]
    var positional: [Param] = []
    /// Leading positional arguments that may be left out (`setflag [varname] flags`).
    var optionalLeading = 0
    /// Trailing positional arguments that may be left out (`deleteheader name [value-patterns]`).
    var optionalTrailing = 0
    var subTests: SubTests = .none
    var block: Bool? = false   // true: required, false: forbidden, nil: either

    var kindName: String { isTest ? "test" : "command" }
}

extension SieveCommandSpec {
    static let matchTags: [String: Tag] = [
        "is": Tag(ext: nil, param: .none, group: "match type"),
        "contains": Tag(ext: nil, param: .none, group: "match type"),
        "matches": Tag(ext: nil, param: .none, group: "match type"),
        "regex": Tag(ext: "regex", param: .none, group: "match type"),
        "value": Tag(ext: "relational", param: .string, group: "match type"),
        "count": Tag(ext: "relational", param: .string, group: "match type"),
        "comparator": Tag(ext: nil, param: .string, group: "comparator"),
    ]
    static let addressPartTags: [String: Tag] = [
        "all": Tag(ext: nil, param: .none, group: "address part"),
        "localpart": Tag(ext: nil, param: .none, group: "address part"),
        "domain": Tag(ext: nil, param: .none, group: "address part"),
        "user": Tag(ext: "subaddress", param: .none, group: "address part"),
        "detail": Tag(ext: "subaddress", param: .none, group: "address part"),
    ]
    static let indexTags: [String: Tag] = [
        "index": Tag(ext: "index", param: .number, group: nil),
        "last": Tag(ext: "index", param: .none, group: nil),
    ]
    static let flagsTag: [String: Tag] = ["flags": Tag(ext: "imap4flags", param: .stringList, group: nil)]

    private static func merge(_ parts: [String: Tag]...) -> [String: Tag] {
        var out = [String: Tag]()
        for p in parts { out.merge(p) { a, _ in a } }
        return out
    }

    static func command(_ ext: String?, tags: [String: Tag] = [:], _ positional: [Param] = [], optionalLeading: Int = 0,
                        tests: SubTests = .none, block: Bool? = false) -> SieveCommandSpec {
        SieveCommandSpec(isTest: false, ext: ext, tags: tags, positional: positional, optionalLeading: optionalLeading,
                         subTests: tests, block: block)
    }

    static func test(_ ext: String?, tags: [String: Tag] = [:], _ positional: [Param] = [], optionalLeading: Int = 0,
                     tests: SubTests = .none) -> SieveCommandSpec {
        SieveCommandSpec(isTest: true, ext: ext, tags: tags, positional: positional, optionalLeading: optionalLeading,
                         subTests: tests, block: false)
    }

    static let commands: [String: SieveCommandSpec] = [
        "require": command(nil, [.stringList]),
        "if": command(nil, tests: .one, block: true),
        "elsif": command(nil, tests: .one, block: true),
        "else": command(nil, block: true),
        "stop": command(nil),
        "keep": command(nil, tags: flagsTag),
        "discard": command(nil),
        "redirect": command(nil, tags: ["copy": Tag(ext: "copy", param: .none, group: nil)], [.string]),
        "fileinto": command("fileinto", tags: merge(flagsTag, [
            "copy": Tag(ext: "copy", param: .none, group: nil),
            "create": Tag(ext: "mailbox", param: .none, group: nil),
            "specialuse": Tag(ext: "special-use", param: .string, group: nil),
        ]), [.string]),
        "reject": command("reject", [.string]),
        "ereject": command("ereject", [.string]),
        "vacation": command("vacation", tags: [
            "days": Tag(ext: nil, param: .number, group: "period"),
            "seconds": Tag(ext: "vacation-seconds", param: .number, group: "period"),
            "subject": Tag(ext: nil, param: .string, group: nil),
            "from": Tag(ext: nil, param: .string, group: nil),
            "addresses": Tag(ext: nil, param: .stringList, group: nil),
            "mime": Tag(ext: nil, param: .none, group: nil),
            "handle": Tag(ext: nil, param: .string, group: nil),
        ], [.string]),
        "set": command("variables", tags: [
            "lower": Tag(ext: nil, param: .none, group: "case"),
            "upper": Tag(ext: nil, param: .none, group: "case"),
            "lowerfirst": Tag(ext: nil, param: .none, group: "first"),
            "upperfirst": Tag(ext: nil, param: .none, group: "first"),
            "quotewildcard": Tag(ext: nil, param: .none, group: "quote"),
            "quoteregex": Tag(ext: "regex", param: .none, group: "quote"),
            "length": Tag(ext: nil, param: .none, group: "length"),
            "encodeurl": Tag(ext: "enotify", param: .none, group: "encodeurl"),
        ], [.string, .string]),
        "setflag": command("imap4flags", [.string, .stringList], optionalLeading: 1),
        "addflag": command("imap4flags", [.string, .stringList], optionalLeading: 1),
        "removeflag": command("imap4flags", [.string, .stringList], optionalLeading: 1),
        "include": command("include", tags: [
            "personal": Tag(ext: nil, param: .none, group: "location"),
            "global": Tag(ext: nil, param: .none, group: "location"),
            "once": Tag(ext: nil, param: .none, group: nil),
            "optional": Tag(ext: nil, param: .none, group: nil),
        ], [.string]),
        "return": command("include"),
        "global": command("include", [.stringList]),
        "addheader": command("editheader", tags: ["last": Tag(ext: nil, param: .none, group: nil)], [.string, .string]),
        "deleteheader": SieveCommandSpec(isTest: false, ext: "editheader", tags: merge([
            "index": Tag(ext: nil, param: .number, group: nil),
            "last": Tag(ext: nil, param: .none, group: nil),
        ], matchTags), positional: [.string, .stringList], optionalTrailing: 1),
        "error": command("ihave", [.string]),
    ]

    static let tests: [String: SieveCommandSpec] = [
        "true": test(nil),
        "false": test(nil),
        "not": test(nil, tests: .one),
        "allof": test(nil, tests: .list),
        "anyof": test(nil, tests: .list),
        "address": test(nil, tags: merge(matchTags, addressPartTags, indexTags), [.stringList, .stringList]),
        "header": test(nil, tags: merge(matchTags, indexTags), [.stringList, .stringList]),
        "envelope": test("envelope", tags: merge(matchTags, addressPartTags), [.stringList, .stringList]),
        "exists": test(nil, [.stringList]),
        "size": test(nil, tags: [
            "over": Tag(ext: nil, param: .number, group: "size"),
            "under": Tag(ext: nil, param: .number, group: "size"),
        ]),
        "string": test("variables", tags: matchTags, [.stringList, .stringList]),
        "hasflag": test("imap4flags", tags: matchTags, [.stringList, .stringList], optionalLeading: 1),
        "body": test("body", tags: merge(matchTags, [
            "raw": Tag(ext: nil, param: .none, group: "transform"),
            "content": Tag(ext: nil, param: .stringList, group: "transform"),
            "text": Tag(ext: nil, param: .none, group: "transform"),
        ]), [.stringList]),
        "date": test("date", tags: merge(matchTags, indexTags, [
            "zone": Tag(ext: nil, param: .string, group: "zone"),
            "originalzone": Tag(ext: nil, param: .none, group: "zone"),
        ]), [.string, .string, .stringList]),
        "currentdate": test("date", tags: merge(matchTags, ["zone": Tag(ext: nil, param: .string, group: "zone")]),
                            [.string, .stringList]),
        "environment": test("environment", tags: matchTags, [.string, .stringList]),
        "mailboxexists": test("mailbox", [.stringList]),
        "specialuse_exists": test("special-use", [.string, .stringList], optionalLeading: 1),
        "duplicate": test("duplicate", tags: [
            "handle": Tag(ext: nil, param: .string, group: nil),
            "header": Tag(ext: nil, param: .string, group: "id"),
            "uniqueid": Tag(ext: nil, param: .string, group: "id"),
            "seconds": Tag(ext: nil, param: .number, group: nil),
            "last": Tag(ext: nil, param: .none, group: nil),
        ]),
        "spamtest": test("spamtest", tags: merge(matchTags, ["percent": Tag(ext: "spamtestplus", param: .none, group: nil)]),
                         [.string]),
        "virustest": test("virustest", tags: matchTags, [.string]),
        "ihave": test("ihave", [.stringList]),
    ]
}
