extension IMAPCommandParser {
    // sort            = ["UID" SP] "SORT" SP [sort-return-opts SP] sort-criteria SP search-criteria
    // sort-return-opts = "RETURN" SP "(" [sort-return-opt *(SP sort-return-opt)] ")"   ; RFC 5267
    // sort-return-opt =/ "CONTEXT" / "UPDATE" / modifier-partial                     ; RFC 5267 §4 (CONTEXT=SORT)
    // sort-criteria   = "(" sort-criterion *(SP sort-criterion) ")"
    // sort-criterion  = ["REVERSE" SP] sort-key
    // search-criteria = charset 1*(SP search-key)                                     ; RFC 5256 §5
    static func parseSort(_ r: inout CommandReader, uid: Bool) throws(ParseFailure) -> IMAPCommand.Kind {
        try r.argument("sort criteria")
        let returns = try searchReturnOptions(&r)
        try r.expect(UInt8(ascii: "("), "(")
        var criteria: [SortCriterion] = []
        repeat {
            try r.countItem()
            var name = try r.word()
            var reverse = false
            if name == "REVERSE" {
                try r.sp()
                reverse = true
                name = try r.word()
            }
            guard let key = SortKey(rawValue: name) else { throw ParseFailure("Unknown sort key \(name)") }
            criteria.append(SortCriterion(key, reverse: reverse))
        } while r.take(32)
        try r.expect(UInt8(ascii: ")"), ")")
        let (charset, key) = try searchCriteria(&r)
        return .sort(SortCommand(criteria: criteria, charset: charset, key: key, uid: uid, returnOptions: returns?.options,
                                 partial: returns?.partial))
    }

    // thread     = ["UID" SP] "THREAD" SP thread-alg SP search-criteria
    // thread-alg = "ORDEREDSUBJECT" / "REFERENCES" / thread-alg-ext
    static func parseThread(_ r: inout CommandReader, uid: Bool) throws(ParseFailure) -> IMAPCommand.Kind {
        try r.argument("threading algorithm")
        let name = try r.word()
        guard let algorithm = ThreadAlgorithm(rawValue: name) else { throw ParseFailure("Unsupported threading algorithm \(name)") }
        let (charset, key) = try searchCriteria(&r)
        return .thread(ThreadCommand(algorithm: algorithm, charset: charset, key: key, uid: uid))
    }

    /// SP charset 1*(SP search-key): SORT and THREAD name the charset, always.
    static func searchCriteria(_ r: inout CommandReader) throws(ParseFailure) -> (String, SearchKey) {
        try r.argument("charset")
        let charset = try r.astringText()
        try r.argument("search criteria")
        return (charset, try searchKeys(&r))
    }

    // command-select =/ "CANCELUPDATE" 1*(SP quoted)                                  ; RFC 5267 §5
    static func parseCancelUpdate(_ r: inout CommandReader) throws(ParseFailure) -> IMAPCommand.Kind {
        var tags: [String] = []
        repeat {
            try r.argument("tag")
            try r.countItem()
            tags.append(String(decoding: try r.string(), as: UTF8.self))
        } while !r.atEnd
        return .cancelUpdate(tags)
    }
}
