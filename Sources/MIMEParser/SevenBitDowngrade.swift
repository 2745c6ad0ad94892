import Foundation

/// Makes a message with 8-bit body content 7-bit (RFC 6152 §3, RFC 2045 §6): every leaf part
/// whose body has 8-bit bytes is re-encoded, quoted-printable for text and base64 for the rest,
/// its Content-Transfer-Encoding header changed to match. Done before signing (DKIM signs the
/// 7-bit form, which no relay has to touch), so such mail reaches servers without 8BITMIME.
public enum SevenBitDowngrade {
    /// Whether any byte of the message is 8-bit.
    public static func needsDowngrade(_ message: [UInt8]) -> Bool { message.contains { $0 >= 0x80 } }

    /// The 7-bit form of `message`, or nil when it cannot have one here: 8-bit bytes in a header
    /// (that needs SMTPUTF8, not a transfer encoding) or inside an encapsulated message.
    public static func convert(_ message: [UInt8]) -> [UInt8]? {
        let parsed = MIMEMessage.parse(message)
        var leaves: [MIMEPart] = []
        var convertible = true
        func collect(_ part: MIMEPart) {
            if part.isEncapsulatedMessage {
                if message[part.bodyRange].contains(where: { $0 >= 0x80 }) { convertible = false }
            } else if part.isMultipart {
                for child in part.children { collect(child) }
            } else {
                leaves.append(part)
            }
        }
        collect(parsed.root)
        // Headers (the message's and every part's) must already be 7-bit.
        var bodies = leaves.map(\.bodyRange)
        bodies.sort { $0.lowerBound < $1.lowerBound }
        var cursor = 0
        for body in bodies {
            if message[cursor..<body.lowerBound].contains(where: { $0 >= 0x80 }) { return nil }
            cursor = body.upperBound
        }
        if message[cursor...].contains(where: { $0 >= 0x80 }) { return nil }
        guard convertible else { return nil }

        var out = message
        // From the end, so that earlier ranges stay valid.
        for part in leaves.sorted(by: { $0.bodyRange.lowerBound > $1.bodyRange.lowerBound }) {
            let body = message[part.bodyRange]
            guard body.contains(where: { $0 >= 0x80 }) else { continue }
            let isText = part.contentType == "text"
            let encoding = isText ? "quoted-printable" : "base64"
            // 8-bit bytes mean the body is not QP or base64 already: the bytes are the content.
            let encoded = isText ? quotedPrintable(body) : base64(body)
            // The part's header without its Content-Transfer-Encoding, with the new one before the blank line.
            var header: [UInt8] = []
            var position = part.headerRange.lowerBound
            for field in part.headerFields.sorted(by: { $0.fieldRange.lowerBound < $1.fieldRange.lowerBound }) {
                let name = String(decoding: message[field.nameRange], as: UTF8.self).lowercased()
                header += message[position..<field.fieldRange.lowerBound]
                if name != "content-transfer-encoding" { header += message[field.fieldRange] }
                position = field.fieldRange.upperBound
            }
            let rest = Array(message[position..<part.headerRange.upperBound])  // the blank line
            // The message itself (not multipart): MIME-Version, if it had none, goes with the new field.
            if part.headerRange.lowerBound == 0,
               !parsed.root.headerFields.contains(where: { String(decoding: message[$0.nameRange], as: UTF8.self).lowercased() == "mime-version" }) {
                header += Array("MIME-Version: 1.0\r\n".utf8)
            }
            header += Array("Content-Transfer-Encoding: \(encoding)\r\n".utf8)
            header += rest
            out.replaceSubrange(part.headerRange.lowerBound..<part.bodyRange.upperBound, with: header + encoded)
        }
        return out
    }

    /// Quoted-printable (RFC 2045 §6.7) keeping line breaks as line breaks (CRLF; a bare LF counts
    /// as one): lines of at most 76 characters with soft breaks, `=` and 8-bit bytes as `=XX`,
    /// white space before a line end encoded.
    static func quotedPrintable(_ input: ArraySlice<UInt8>) -> [UInt8] {
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(input.count + input.count / 4)
        var line = 0
        var i = input.startIndex
        func emit(_ bytes: [UInt8]) {
            if line + bytes.count > 72 {
                // White space must not end a line (decoders drop it): encode it before the soft break.
                if let last = out.last, last == 0x20 || last == 0x09 {
                    out.removeLast()
                    out += [UInt8(ascii: "="), hex[Int(last >> 4)], hex[Int(last & 0x0F)]]
                }
                out += [UInt8(ascii: "="), 0x0D, 0x0A]
                line = 0
            }
            out += bytes
            line += bytes.count
        }
        while i < input.endIndex {
            let byte = input[i]
            if byte == 0x0A || (byte == 0x0D && input.index(after: i) < input.endIndex && input[input.index(after: i)] == 0x0A) {
                out += [0x0D, 0x0A]
                line = 0
                i = byte == 0x0D ? input.index(i, offsetBy: 2) : input.index(after: i)
                continue
            }
            let next = input.index(after: i)
            let atLineEnd = next == input.endIndex || input[next] == 0x0A || input[next] == 0x0D
            if (byte == 0x20 || byte == 0x09) && !atLineEnd {
                emit([byte])
            } else if byte >= 33 && byte <= 126 && byte != UInt8(ascii: "=") {
                emit([byte])
            } else {
                emit([UInt8(ascii: "="), hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]])
            }
            i = next
        }
        return out
    }

    /// Base64 in lines of 76 characters, each ending in CRLF.
    static func base64(_ input: ArraySlice<UInt8>) -> [UInt8] {
        Array(Data(input).base64EncodedString(options: [.lineLength76Characters, .endLineWithCarriageReturn, .endLineWithLineFeed]).utf8) + [0x0D, 0x0A]
    }
}
