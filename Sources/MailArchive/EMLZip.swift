import Foundation
import MailboxAPI
import ZIPFoundation

/// A zip of .eml files, one directory per folder (`INBOX/000001.eml`, `Archive/2024/000001.eml`),
/// with a `manifest.json` per folder giving each file's flags, keywords and internal date.
public struct EMLZipWriter {
    struct Entry: Codable { var file: String; var flags: [String]; var keywords: [String]; var internalDate: Date? }

    let archive: Archive
    let path: String
    var manifests: [String: [Entry]] = [:]
    var order: [String] = []

    public init(path: String) throws {
        guard !FileManager.default.fileExists(atPath: path) else { throw ArchiveError(description: "\(path) already exists") }
        do {
            archive = try Archive(url: URL(fileURLWithPath: path), accessMode: .create)
        } catch {
            throw ArchiveError(description: "cannot create \(path): \(error)")
        }
        self.path = path
    }

    public mutating func add(folder: String, message: ArchivedMessage) throws {
        if manifests[folder] == nil { manifests[folder] = []; order.append(folder) }
        let name = String(format: "%06d.eml", manifests[folder]!.count + 1)
        try addFile(folder + "/" + name, Data(message.bytes), date: message.internalDate)
        manifests[folder]!.append(Entry(file: name, flags: message.flags.archiveNames, keywords: message.keywords, internalDate: message.internalDate))
    }

    public mutating func finish() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        for folder in order { try addFile(folder + "/manifest.json", try encoder.encode(manifests[folder] ?? []), date: nil) }
    }

    func addFile(_ name: String, _ data: Data, date: Date?) throws {
        do {
            try archive.addEntry(with: name, type: .file, uncompressedSize: Int64(data.count), modificationDate: date ?? Date(),
                                 permissions: 0o600, compressionMethod: .deflate) { position, size in
                data.subdata(in: Int(position)..<Int(position) + size)
            }
        } catch {
            throw ArchiveError(description: "cannot write \(name) into \(path): \(error)")
        }
    }
}

public enum EMLZipReader {
    /// Every message with its folder, in the order of the manifests (files without a manifest entry
    /// come with no flags).
    public static func read(path: String, limits: ArchiveLimits = ArchiveLimits()) throws -> [(folder: String, message: ArchivedMessage)] {
        let archive: Archive
        do { archive = try Archive(url: URL(fileURLWithPath: path), accessMode: .read) } catch {
            throw ArchiveError(description: "\(path) is not a readable zip: \(error)")
        }
        func contents(_ entry: ZIPFoundation.Entry) throws -> Data {
            guard entry.uncompressedSize <= Int64(limits.maxMessageSize) else {
                throw ArchiveError(description: "\(entry.path) in \(path) is larger than \(limits.maxMessageSize) bytes")
            }
            var data = Data()
            _ = try archive.extract(entry) { data.append($0) }
            return data
        }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        var manifests: [String: [String: EMLZipWriter.Entry]] = [:]
        var files: [(folder: String, name: String, entry: ZIPFoundation.Entry)] = []
        for entry in archive where entry.type == .file {
            let p = entry.path
            guard let slash = p.lastIndex(of: "/") else { continue }
            let folder = String(p[..<slash]), name = String(p[p.index(after: slash)...])
            if name == "manifest.json" {
                let list = (try? decoder.decode([EMLZipWriter.Entry].self, from: try contents(entry))) ?? []
                manifests[folder] = Dictionary(list.map { ($0.file, $0) }, uniquingKeysWith: { a, _ in a })
            } else if name.hasSuffix(".eml") {
                files.append((folder, name, entry))
            }
        }
        return try files.sorted { ($0.folder, $0.name) < ($1.folder, $1.name) }.map { file in
            let meta = manifests[file.folder]?[file.name]
            return (file.folder, ArchivedMessage(bytes: Array(try contents(file.entry)), flags: MessageFlags(archiveNames: meta?.flags ?? []),
                                                 keywords: meta?.keywords ?? [], internalDate: meta?.internalDate))
        }
    }
}
