import MIMEParser

extension IMAPCursor {
    /// `fetch = "FETCH" SP sequence-set SP ("ALL" / "FULL" / "FAST" / fetch-att /
    /// "(" fetch-att *(SP fetch-att) ")") [fetch-modifiers]` (RFC 3501, RFC 7162 CHANGEDSINCE).
    mutating func fetchCommand(uid: Bool) throws(ParseFailure) -> IMAPCommand.Kind {
        try space("Missing sequence set")
        let set = try sequenceSet()
        try space("Missing fetch attributes")
        var attributes: [FetchAttribute] = []
        if skip(IMAPChar.openParen) {
            repeat {
                try countItem()
                attributes.append(try fetchAttribute())
            } while optionalSpace()
            try expect(IMAPChar.closeParen, "Invalid fetch attribute list")
        } else if skipKeyword("ALL") {
            attributes = [.flags, .internalDate, .rfc822Size, .envelope]
        } else if skipKeyword("FAST") {
            attributes = [.flags, .internalDate, .rfc822Size]
        } else if skipKeyword("FULL") {
            attributes = [.flags, .internalDate, .rfc822Size, .envelope, .body]
        } else {
            attributes = [try fetchAttribute()]
        }
        var changedSince: UInt64?
        if optionalSpace() {
            try expect(IMAPChar.openParen, "Invalid fetch modifiers")
            repeat {
                let m = try atom("Invalid fetch modifier").uppercased()
                guard m == "CHANGEDSINCE" else { throw ParseFailure("Unsupported fetch modifier \(Self.printable(m))") }
                try space("Missing CHANGEDSINCE value")
                changedSince = try number64("Invalid CHANGEDSINCE value")
            } while optionalSpace()
            try expect(IMAPChar.closeParen, "Invalid fetch modifiers")
        }
        return .fetch(set, attributes, uid: uid, changedSince: changedSince)
    }

    /// `fetch-att` (RFC 3501 §9, RFC 3516 BINARY, RFC 7162 MODSEQ).
    mutating func fetchAttribute() throws(ParseFailure) -> FetchAttribute {
        let name = word()
        switch name {
        case "ENVELOPE": return .envelope
        case "FLAGS": return .flags
        case "INTERNALDATE": return .internalDate
        case "RFC822": return .rfc822
        case "RFC822.HEADER": return .rfc822Header
        case "RFC822.SIZE": return .rfc822Size
        case "RFC822.TEXT": return .rfc822Text
        case "UID": return .uid
        case "BODYSTRUCTURE": return .bodyStructure
        case "MODSEQ": return .modSeq
        case "BODY", "BODY.PEEK":
            if peek != IMAPChar.openBracket {
                guard name == "BODY" else { throw ParseFailure("Missing section after BODY.PEEK") }
                return .body
            }
            let section = try section()
            return .bodySection(section: section, partial: try partial(), peek: name == "BODY.PEEK")
        case "BINARY", "BINARY.PEEK":
            let part = try binarySection()
            return .binary(part: part, partial: try partial(), peek: name == "BINARY.PEEK")
        case "BINARY.SIZE":
            return .binarySize(part: try binarySection())
        case "":
            throw ParseFailure("Missing fetch attribute")
        default:
            throw ParseFailure("Unknown fetch attribute \(Self.printable(name))")
        }
    }

    /// `section-part = nz-number *("." nz-number)`; stops before a "." that is not followed by a digit.
    private mutating func sectionPart() throws(ParseFailure) -> [Int] {
        var part: [Int] = []
        while let b = peek, IMAPChar.isDigit(b) {
            try countItem()
            part.append(Int(try nzNumber("Invalid section part")))
            if peek == 0x2E, let n = peek(at: 1), IMAPChar.isDigit(n) { pos += 1 } else { break }
        }
        return part
    }

    /// `section = "[" [section-spec] "]"`.
    mutating func section() throws(ParseFailure) -> IMAPSection {
        try expect(IMAPChar.openBracket, "Expected [ section ]")
        let part = try sectionPart()
        if !part.isEmpty, peek != IMAPChar.closeBracket {
            try expect(0x2E, "Invalid section")
        }
        var kind = IMAPSection.Kind.full
        if peek != IMAPChar.closeBracket {
            let text = take { IMAPChar.isAlpha($0) || $0 == 0x2E }
            switch String(decoding: text, as: UTF8.self).uppercased() {
            case "HEADER": kind = .header
            case "TEXT": kind = .text
            case "MIME":
                guard !part.isEmpty else { throw ParseFailure("MIME needs a part number") }
                kind = .mime
            case "HEADER.FIELDS": kind = .headerFields(try headerList())
            case "HEADER.FIELDS.NOT": kind = .headerFieldsNot(try headerList())
            default: throw ParseFailure("Invalid section")
            }
        }
        try expect(IMAPChar.closeBracket, "Expected ] after section")
        return IMAPSection(part: part, kind: kind)
    }

    /// `header-list = "(" header-fld-name *(SP header-fld-name) ")"`.
    private mutating func headerList() throws(ParseFailure) -> [String] {
        try space("Missing header list")
        try enterNesting()
        defer { leaveNesting() }
        try expect(IMAPChar.openParen, "Missing header list")
        var names: [String] = []
        repeat {
            try countItem()
            names.append(try astringText("Invalid header field name"))
        } while optionalSpace()
        try expect(IMAPChar.closeParen, "Invalid header list")
        return names
    }

    /// `section-binary = "[" [section-part] "]"`.
    private mutating func binarySection() throws(ParseFailure) -> [Int] {
        try expect(IMAPChar.openBracket, "Expected [ part ]")
        let part = try sectionPart()
        try expect(IMAPChar.closeBracket, "Expected ] after part")
        return part
    }

    /// `partial = "<" number "." nz-number ">"`.
    private mutating func partial() throws(ParseFailure) -> FetchAttribute.Partial? {
        guard skip(0x3C) else { return nil }
        let offset = try number("Invalid partial")
        try expect(0x2E, "Invalid partial")
        let length = try nzNumber("Invalid partial")
        try expect(0x3E, "Invalid partial")
        return FetchAttribute.Partial(offset: Int(offset), length: Int(length))
    }
}
