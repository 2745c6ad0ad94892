extension MIMEMessage {
    /// RFC 8970 preview text: the start of the message's first text part that is not an
    /// attachment — text/plain if the message has one, else text/html with its tags removed —
    /// charset-decoded, with every run of whitespace (line breaks included) made one space and the
    /// ends trimmed, cut to `maxCharacters` characters. Empty when the message has no such part
    /// (RFC 8970 §3.1: no preview is an empty string, not NIL). Only the first
    /// `previewSourceBytes` of the part are decoded: a preview never decodes a whole large body.
    public func preview(maxCharacters: Int = 256) -> String {
        let candidates = leafParts.filter { $0.contentType == "text" && $0.disposition != "attachment" && !$0.isAttachment }
        guard let part = candidates.first(where: { $0.subtype == "plain" }) ?? candidates.first(where: { $0.subtype == "html" }) else {
            return ""
        }
        let body = bytes[part.bodyRange]
        let end = body.startIndex + min(body.count, Self.previewSourceBytes)
        var raw: [UInt8]
        switch part.transferEncoding ?? "7bit" {
        case "base64":
            raw = TransferDecoding.base64(body[body.startIndex..<end])
        case "quoted-printable":
            raw = TransferDecoding.quotedPrintable(body[body.startIndex..<end])
        default:
            raw = Array(body[body.startIndex..<end])
        }
        // A cut UTF-8 sequence or escape at the end of a cut part decodes badly: drop its tail.
        if end < body.endIndex, raw.count > 4 { raw.removeLast(4) }
        var text = Charset.decode(raw, charset: part.parameter("charset"))
        if part.subtype == "html" { text = HTMLText.toText(text) }
        var out = ""
        var count = 0, space = false
        for c in text {
            if c.isWhitespace || c.unicodeScalars.allSatisfy({ $0.value < 0x20 || $0.value == 0x7F }) {
                space = !out.isEmpty
                continue
            }
            if space {
                guard count + 1 < maxCharacters else { break }
                out.append(" "); count += 1; space = false
            }
            guard count < maxCharacters else { break }
            out.append(c); count += 1
        }
        return out
    }

    /// How much of a text part a preview decodes (enough for 256 characters of text after HTML markup).
    static let previewSourceBytes = 64 * 1024
}
