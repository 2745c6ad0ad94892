import ArgumentParser
import Foundation
import IMAPCore
import MIMEParser

/// `sealbox message …`: developer and support tools for single messages.
struct MessageCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "message",
        abstract: "Inspect messages the way the IMAP server sees them.",
        subcommands: [Inspect.self]
    )

    struct Inspect: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the ENVELOPE, BODYSTRUCTURE and part tree of an .eml file exactly as IMAP sends them."
        )

        @Argument(help: "The message file (RFC 5322, .eml).")
        var file: String

        @Flag(help: "Print a JSON object {envelope, bodystructure, body, size, parts:[{part, mime, binarySize}]}.")
        var json = false

        func run() async throws {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw ValidationError("cannot read \(file)")
            }
            let bytes = [UInt8](data)
            if !json {
                print(MIMEInspector.report(for: bytes), terminator: "")
                return
            }
            let m = MIMEMessage.parse(bytes)
            var parts: [[String: Any]] = []
            for entry in m.partList() where !entry.number.isEmpty {
                var p: [String: Any] = ["part": entry.number.map(String.init).joined(separator: ".")]
                let mime = m.section(IMAPSection(part: entry.number, kind: .mime)) ?? []
                p["mime"] = String(decoding: mime, as: UTF8.self)
                p["binarySize"] = m.binarySize(part: entry.number) ?? NSNull()
                p["contentType"] = entry.part.contentType + "/" + entry.part.subtype
                p["isAttachment"] = entry.part.isAttachment
                if let f = entry.part.filename { p["filename"] = f }
                parts.append(p)
            }
            let object: [String: Any] = [
                "envelope": m.imapEnvelope(),
                "body": m.imapBodyStructure(extended: false),
                "bodystructure": m.imapBodyStructure(extended: true),
                "size": m.rfc822Size,
                "parts": parts,
            ]
            let out = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
            FileHandle.standardOutput.write(out)
            FileHandle.standardOutput.write(Data("\n".utf8))
        }
    }
}
