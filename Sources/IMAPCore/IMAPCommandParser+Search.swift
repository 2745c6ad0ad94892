extension IMAPCursor {
    /// `search = "SEARCH" [search-return-opts] [SP "CHARSET" SP astring] 1*(SP search-key)`
    /// (RFC 3501, RFC 4731 ESEARCH `RETURN (…)`).
    mutating func searchCommand(uid: Bool) throws(ParseFailure) -> IMAPCommand.Kind {
        try space("Missing search criteria")
        var returnOptions: [String]?
        if skipKeyword("RETURN") {
            try space()
            try expect(IMAPChar.openParen, "Invalid RETURN options")
            var options: [String] = []
            if !skip(IMAPChar.closeParen) {
                repeat {
                    let o = try atom("Invalid RETURN option").uppercased()
                    guard ["MIN", "MAX", "COUNT", "ALL", "SAVE"].contains(o) else {
                        throw ParseFailure("Unsupported RETURN option \(Self.printable(o))")
                    }
                    if !options.contains(o) { options.append(o) }
                } while optionalSpace()
                try expect(IMAPChar.closeParen, "Invalid RETURN options")
            }
            returnOptions = options
            try space("Missing search criteria")
        }
        var charset: String?
        if skipKeyword("CHARSET") {
            try space("Missing charset")
            charset = try astringText("Missing charset")
            try space("Missing search criteria")
        }
        var keys: [SearchKey] = []
        repeat { keys.append(try searchKey()) } while optionalSpace()
        return .search(charset: charset, key: keys.count == 1 ? keys[0] : .and(keys), uid: uid, returnOptions: returnOptions)
    }

    /// Search strings are astrings, decoded as UTF-8 (invalid bytes become U+FFFD; a non-UTF-8
    /// CHARSET is refused by the session anyway).
    private mutating func searchString() throws(ParseFailure) -> String {
        try space("Missing search string")
        return try astringText("Missing search string")
    }

    private mutating func searchDate() throws(ParseFailure) -> IMAPDate {
        try space("Missing date")
        return try date()
    }

    /// `search-key` (RFC 3501 §6.4.4, RFC 7162 MODSEQ, RFC 5032 YOUNGER/OLDER).
    mutating func searchKey() throws(ParseFailure) -> SearchKey {
        try enterNesting()
        defer { leaveNesting() }
        try countItem()
        guard let first = peek else { throw ParseFailure("Missing search key") }
        if first == IMAPChar.openParen {
            pos += 1
            var keys: [SearchKey] = []
            repeat { keys.append(try searchKey()) } while optionalSpace()
            try expect(IMAPChar.closeParen, "Expected ) in search criteria")
            return keys.count == 1 ? keys[0] : .and(keys)
        }
        if IMAPChar.isDigit(first) || first == 0x2A || first == 0x24 {
            return .sequenceNumbers(try sequenceSet())
        }
        let name = try atom("Invalid search key").uppercased()
        switch name {
        case "ALL": return .all
        case "ANSWERED": return .answered
        case "DELETED": return .deleted
        case "DRAFT": return .draft
        case "FLAGGED": return .flagged
        case "NEW": return .new
        case "OLD": return .old
        case "RECENT": return .recent
        case "SEEN": return .seen
        case "UNANSWERED": return .unanswered
        case "UNDELETED": return .undeleted
        case "UNDRAFT": return .undraft
        case "UNFLAGGED": return .unflagged
        case "UNSEEN": return .unseen
        case "KEYWORD", "UNKEYWORD":
            try space("Missing keyword")
            let k = try atom("Invalid keyword")
            return name == "KEYWORD" ? .keyword(k) : .unkeyword(k)
        case "BEFORE": return .before(try searchDate())
        case "ON": return .on(try searchDate())
        case "SINCE": return .since(try searchDate())
        case "SENTBEFORE": return .sentBefore(try searchDate())
        case "SENTON": return .sentOn(try searchDate())
        case "SENTSINCE": return .sentSince(try searchDate())
        case "LARGER", "SMALLER":
            try space("Missing size")
            let n = Int(try number64("Invalid size"))
            return name == "LARGER" ? .larger(n) : .smaller(n)
        case "FROM": return .from(try searchString())
        case "TO": return .to(try searchString())
        case "CC": return .cc(try searchString())
        case "BCC": return .bcc(try searchString())
        case "SUBJECT": return .subject(try searchString())
        case "BODY": return .body(try searchString())
        case "TEXT": return .text(try searchString())
        case "HEADER":
            let field = try searchString()
            return .header(name: field, value: try searchString())
        case "NOT":
            try space("Missing search key after NOT")
            return .not(try searchKey())
        case "OR":
            try space("Missing search key after OR")
            let a = try searchKey()
            try space("Missing second search key after OR")
            return .or(a, try searchKey())
        case "UID":
            try space("Missing UID set")
            return .uid(try sequenceSet())
        case "MODSEQ":
            // MODSEQ [SP entry-name SP entry-type-req] SP mod-sequence-valzer
            try space("Missing mod-sequence")
            if peek == IMAPChar.dquote || peek == IMAPChar.openBrace {
                _ = try string()
                try space("Missing entry type")
                let t = try atom("Invalid entry type").uppercased()
                guard ["PRIV", "SHARED", "ALL"].contains(t) else { throw ParseFailure("Invalid entry type") }
                try space("Missing mod-sequence")
            }
            return .modSeq(try number64("Invalid mod-sequence"))
        case "YOUNGER", "OLDER":
            try space("Missing interval")
            let n = Int(try nzNumber("Invalid interval"))
            return name == "YOUNGER" ? .younger(n) : .older(n)
        default:
            throw ParseFailure("Unknown search key \(Self.printable(name))")
        }
    }
}
