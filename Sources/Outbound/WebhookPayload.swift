import Crypto
import Foundation
import MIMEParser

/// The JSON document a webhook receives for one message: the envelope, decoded header facts, the
/// text and HTML bodies as UTF-8, attachment metadata (not their content) and, on request, the raw
/// message in base64. Keys are sorted; absent values are null.
///
///     {"attachments":[{"contentId","contentType","disposition","filename","sha256","size"}],
///      "cc":[{"address","name"}],"date","envelope":{"helo","mailFrom","rcptTo":[],"remoteAddress"},
///      "from":[…],"headers":[{"name","value"}],"html","messageId","raw","receivedAt","replyTo":[…],
///      "size","subject","text","to":[…]}
public enum WebhookPayload {
    public static func json(message: [UInt8], mailFrom: String, recipients: [String], receivedAt: Date,
                            remoteIP: String?, helo: String?, includeRaw: Bool) -> [UInt8] {
        let m = MIMEMessage.parse(message)
        var doc: [String: Any] = [:]
        doc["envelope"] = [
            "mailFrom": mailFrom,
            "rcptTo": recipients,
            "remoteAddress": remoteIP ?? NSNull(),
            "helo": helo ?? NSNull(),
        ] as [String: Any]
        doc["receivedAt"] = MessageFormatting.iso8601(receivedAt)
        doc["messageId"] = m.messageID ?? NSNull()
        doc["subject"] = m.subject ?? NSNull()
        doc["date"] = m.date.map(MessageFormatting.iso8601) ?? NSNull()
        doc["from"] = addresses(m.from)
        doc["to"] = addresses(m.to)
        doc["cc"] = addresses(m.cc)
        doc["replyTo"] = addresses(m.replyTo)
        doc["headers"] = m.root.headerFields.map { f -> [String: Any] in
            let name = String(decoding: message[f.nameRange], as: UTF8.self)
            let raw = message[f.valueRange].filter { $0 != 0x0D && $0 != 0x0A }
            return ["name": name, "value": RFC2047.decode(raw)]
        }

        var text: String?
        var html: String?
        var attachments: [[String: Any]] = []
        for p in leaves(m.root) {
            let isBodyCandidate = p.contentType == "text" && p.disposition != "attachment" && !p.bodyRange.isEmpty
            if isBodyCandidate, p.subtype == "plain", text == nil {
                text = Charset.decode(m.decodedBody(p), charset: p.parameter("charset"))
                continue
            }
            if isBodyCandidate, p.subtype == "html", html == nil {
                html = Charset.decode(m.decodedBody(p), charset: p.parameter("charset"))
                continue
            }
            guard p.contentType != "multipart", p.isAttachment || p.isEncapsulatedMessage else { continue }
            let content = m.decodedBody(p)
            attachments.append([
                "filename": p.filename ?? NSNull(),
                "contentType": "\(p.contentType)/\(p.subtype)",
                "size": content.count,
                "contentId": p.contentID.map(stripAngles) ?? NSNull(),
                "disposition": p.disposition ?? NSNull(),
                "sha256": WebhookSignature.hex(Array(SHA256.hash(data: content))),
            ])
        }
        doc["text"] = text ?? NSNull()
        doc["html"] = html ?? NSNull()
        doc["attachments"] = attachments
        if includeRaw { doc["raw"] = Data(message).base64EncodedString() }
        doc["size"] = message.count

        // Every value above is a JSON type, so serialization cannot fail.
        let data = (try? JSONSerialization.data(withJSONObject: doc, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        return Array(data)
    }

    /// Leaf entities in document order; an encapsulated message (message/rfc822) is one leaf, an
    /// attachment, and its own parts are not looked into.
    static func leaves(_ part: MIMEPart) -> [MIMEPart] {
        if part.isEncapsulatedMessage || part.children.isEmpty { return [part] }
        return part.children.flatMap(leaves)
    }

    static func addresses(_ list: [MailAddress]) -> [[String: Any]] {
        list.map { a in
            ["name": (a.name?.isEmpty == false ? a.name : nil) as Any? ?? NSNull(), "address": a.address ?? NSNull()]
        }
    }

    static func stripAngles(_ s: String) -> String {
        var t = Substring(s)
        if t.first == "<", t.last == ">", t.count >= 2 { t = t.dropFirst().dropLast() }
        return String(t)
    }
}
