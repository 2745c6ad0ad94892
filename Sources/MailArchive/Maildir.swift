import Foundation
import MailboxAPI

/// Reads Maildir and Maildir++ trees: the root's cur/ and new/ are INBOX; subfolders are `.Name`
/// directories (`.Archive.2024` is `Archive/2024`). Flags come from the `:2,<flags>` suffix
/// (D draft, F flagged, P passed → keyword `$Forwarded`, R replied, S seen, T trashed → deleted,
/// a–z keywords through Dovecot's `dovecot-keywords` file); the internal date from the file
/// name's leading timestamp, else the file's modification time.
public enum MaildirReader {
    static func isMaildir(_ path: String) -> Bool {
        var dir: ObjCBool = false
        return FileManager.default.fileExists(atPath: path + "/cur", isDirectory: &dir) && dir.boolValue
    }

    public static func folders(at root: String) throws -> [String] {
        guard FileManager.default.fileExists(atPath: root) else { throw ArchiveError(description: "no such Maildir: \(root)") }
        var folders: [String] = []
        if isMaildir(root) { folders.append("INBOX") }
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        for name in entries.sorted() where name.hasPrefix(".") && name != "." && name != ".." && isMaildir(root + "/" + name) {
            let folder = String(name.dropFirst()).replacingOccurrences(of: ".", with: "/")
            if !folder.isEmpty && folder.uppercased() != "INBOX" { folders.append(folder) }
        }
        guard !folders.isEmpty else { throw ArchiveError(description: "\(root) is not a Maildir (no cur/ directory)") }
        return folders
    }

    static func directory(root: String, folder: String) -> String {
        folder == "INBOX" ? root : root + "/." + folder.replacingOccurrences(of: "/", with: ".")
    }

    public static func messages(in root: String, folder: String, limits: ArchiveLimits = ArchiveLimits()) throws -> [ArchivedMessage] {
        let dir = directory(root: root, folder: folder)
        let keywordNames = Self.keywordNames(dir)
        var found: [(date: Date, name: String, message: ArchivedMessage)] = []
        for sub in ["cur", "new"] {
            let path = dir + "/" + sub
            for name in ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []) where !name.hasPrefix(".") {
                let file = path + "/" + name
                let attributes = try? FileManager.default.attributesOfItem(atPath: file)
                guard (attributes?[.type] as? FileAttributeType) == .typeRegular else { continue }
                let size = (attributes?[.size] as? Int) ?? 0
                guard size <= limits.maxMessageSize else {
                    throw ArchiveError(description: "\(file) is larger than \(limits.maxMessageSize) bytes")
                }
                guard let data = FileManager.default.contents(atPath: file) else { throw ArchiveError(description: "cannot read \(file)") }
                var flags: MessageFlags = []
                var keywords: [String] = []
                if let range = name.range(of: ":2,") ?? name.range(of: "!2,") {
                    for c in name[range.upperBound...] {
                        switch c {
                        case "D": flags.insert(.draft)
                        case "F": flags.insert(.flagged)
                        case "P": keywords.append("$Forwarded")
                        case "R": flags.insert(.answered)
                        case "S": flags.insert(.seen)
                        case "T": flags.insert(.deleted)
                        case "a"..."z":
                            let index = Int(c.asciiValue! - Character("a").asciiValue!)
                            if let keyword = keywordNames[index] { keywords.append(keyword) }
                        default: break
                        }
                    }
                }
                let stamp = name.prefix { $0.isNumber }
                let date = stamp.count >= 9 ? Double(stamp).map { Date(timeIntervalSince1970: $0) } : nil
                let modified = attributes?[.modificationDate] as? Date
                let internalDate = date ?? modified ?? Date()
                found.append((internalDate, name, ArchivedMessage(bytes: Array(data), flags: flags, keywords: keywords, internalDate: internalDate)))
            }
        }
        return found.sorted { ($0.date, $0.name) < ($1.date, $1.name) }.map(\.message)
    }

    /// Dovecot's `dovecot-keywords`: lines `0 $Forwarded` mapping letters a, b, … to keywords.
    static func keywordNames(_ dir: String) -> [Int: String] {
        guard let text = try? String(contentsOfFile: dir + "/dovecot-keywords", encoding: .utf8) else { return [:] }
        var names: [Int: String] = [:]
        for line in text.split(whereSeparator: \.isNewline) {
            let parts = line.split(separator: " ", maxSplits: 1)
            if parts.count == 2, let i = Int(parts[0]), i >= 0, i < 26 { names[i] = String(parts[1]) }
        }
        return names
    }
}
