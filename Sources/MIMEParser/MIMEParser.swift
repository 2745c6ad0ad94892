// MIMEParser: the RFC 5322 / MIME message model shared by the store, IMAP, POP3, SMTP and search.
// Pure Swift, no I/O; value types only.
//
//   let m = MIMEMessage.parse(bytes)                 // never throws; limits in MIMELimits
//   m.subject, m.date, m.messageID, m.from …         // decoded header facts for index columns
//   m.envelope, m.structure                          // ENVELOPE/BODYSTRUCTURE values (IMAPCore encodes them)
//   m.section(IMAPSection(imapSpec: "1.MIME")!)      // BODY[...] content (partial: MIMEMessage.partial)
//   m.binary(part: [2]), m.binarySize(part: [2])     // RFC 3516
//   m.searchText()                                   // full text for FTS
//   m.leafParts → bodyRange                          // encoded leaf bodies, for de-duplication
//
// Sizes (RFC822.SIZE, BODYSTRUCTURE sizes, BINARY.SIZE of unencoded parts) count every line ending
// as CRLF, like IMAP servers do for stored LF-only files; section() returns the stored bytes as they
// are. Store messages with CRLF line endings (MIMEMessage.canonicalCRLF) and the two always agree.

extension MIMEMessage {
    /// The message with every bare LF turned into CRLF (what the store keeps, so that IMAP sizes
    /// and section bytes agree).
    public static func canonicalCRLF(_ bytes: [UInt8]) -> [UInt8] {
        var bare = 0
        for (i, c) in bytes.enumerated() where c == LF && (i == 0 || bytes[i - 1] != CR) { bare += 1 }
        if bare == 0 { return bytes }
        var out = [UInt8]()
        out.reserveCapacity(bytes.count + bare)
        var prev: UInt8 = 0
        for c in bytes {
            if c == LF && prev != CR { out.append(CR) }
            out.append(c)
            prev = c
        }
        return out
    }
}
