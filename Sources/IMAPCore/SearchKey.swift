/// A SEARCH criterion (RFC 3501 §6.4.4, plus RFC 9051's and RFC 7162's additions we accept).
/// A parenthesised list and a run of keys are `.and`; strings are already decoded to UTF-8.
public indirect enum SearchKey: Sendable, Hashable {
    case all
    case and([SearchKey])
    case or(SearchKey, SearchKey)
    case not(SearchKey)
    /// A bare sequence set: message sequence numbers.
    case sequenceNumbers(SequenceSet)
    case uid(SequenceSet)

    // flags
    case answered, deleted, draft, flagged, seen, recent, new, old
    case unanswered, undeleted, undraft, unflagged, unseen
    case keyword(String), unkeyword(String)

    // internal date (day granularity) and Date: header (sent date)
    case before(IMAPDate), on(IMAPDate), since(IMAPDate)
    case sentBefore(IMAPDate), sentOn(IMAPDate), sentSince(IMAPDate)

    // size (RFC822.SIZE)
    case larger(Int), smaller(Int)

    // header and content (case-insensitive substring)
    case from(String), to(String), cc(String), bcc(String), subject(String)
    case header(name: String, value: String)
    case body(String), text(String)

    /// RFC 7162 MODSEQ (entry name and type, if given, are ignored as RFC 7162 allows).
    case modSeq(UInt64)
    /// RFC 9051 / RFC 5032 WITHIN: YOUNGER / OLDER (seconds, against the internal date).
    case younger(Int), older(Int)
    /// RFC 8514 SAVEDBEFORE / SAVEDON / SAVEDSINCE (day of the save date) and SAVEDATESUPPORTED.
    case savedBefore(IMAPDate), savedOn(IMAPDate), savedSince(IMAPDate), saveDateSupported
    /// RFC 8474 EMAILID / THREADID (exact object ids).
    case emailID(String), threadID(String)
}
