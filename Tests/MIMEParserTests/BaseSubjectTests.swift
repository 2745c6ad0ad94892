import Testing
@testable import MIMEParser

/// RFC 5256 §2.1 base subject extraction and the i;unicode-casemap keys it is compared by.
@Suite("Base subject (RFC 5256 §2.1)")
struct BaseSubjectTests {
    @Test("extraction", arguments: [
        ("Hello world", "Hello world", false),
        ("Re: Hello world", "Hello world", true),
        ("RE: re: Fwd: FW: hello", "hello", true),
        ("Re[2]: Meeting", "Meeting", true),            // subj-refwd with a blob before ":"
        ("Re [2]: Meeting", "Meeting", true),           // *WSP before the blob
        ("[list] Re: Topic", "Topic", true),            // blobs before a subj-refwd
        ("[list] Topic", "Topic", false),               // (4): a blob goes when something is left
        ("[list] ", "[list]", false),                   // ... and stays when nothing would be
        ("[a][b] [c]", "[c]", false),
        ("Meeting (fwd)", "Meeting", true),             // (2) trailer
        ("Meeting (FWD)  (fwd) ", "Meeting", true),
        ("[fwd: Hello world]", "Hello world", true),    // (6)
        ("[Fwd: Re: [list] x (fwd)]", "x", true),       // (6) then again from (2)
        ("Re:Re:  Fwd:\tspaced    topic", "spaced topic", true),  // (1) whitespace
        ("  Re :x", "x", true),                         // subj-refwd allows WSP before ":"
        ("Reply: x", "Reply: x", false),                // "re" must be followed by WSP/blob and ":"
        ("Fwd x", "Fwd x", false),
        ("Re:", "", true),
        ("", "", false),
        ("[unclosed Re: x", "[unclosed Re: x", false),
        ("Re: [fwd: x", "[fwd: x", true),               // no subj-fwd-trl
    ])
    func extraction(raw: String, base: String, isReply: Bool) {
        let b = BaseSubject(raw: Array(raw.utf8))
        #expect(b.text == base, "\(raw)")
        #expect(b.isReplyOrForward == isReply, "\(raw)")
    }

    @Test("RFC 2047 words are decoded first, folding is unfolded")
    func decoding() {
        #expect(BaseSubject(raw: Array("=?UTF-8?B?UmU6IMOJbGFu?=".utf8)).text == "Élan")
        #expect(BaseSubject(raw: Array("=?UTF-8?B?UmU6IMOJbGFu?=".utf8)).isReplyOrForward)
        #expect(BaseSubject(raw: Array("Re: a\r\n\tlong =?ISO-8859-1?Q?=E9t=E9?=\r\n (fwd)".utf8)).text == "a long été")
    }

    @Test("i;unicode-casemap: titlecase, then NFKD")
    func casemap() {
        #expect(UnicodeCasemap.key("hello World") == Array("HELLO WORLD".utf8))
        #expect(UnicodeCasemap.key("élan") == UnicodeCasemap.key("ÉLAN"))
        #expect(UnicodeCasemap.key("Élan") == Array("E\u{301}LAN".utf8))
        #expect(UnicodeCasemap.key("ﬁ") == Array("fi".utf8))   // no one-to-one titlecase form; NFKD splits it
        #expect(UnicodeCasemap.key("ß") == Array("ß".utf8))   // no one-to-one titlecase form
        // "_" sorts after letters, as in an upper-cased comparison
        #expect(UnicodeCasemap.key("a").lexicographicallyPrecedes(UnicodeCasemap.key("_")))
    }
}
