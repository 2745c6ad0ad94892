import Foundation
import MailboxAPI
import ZIPFoundation

/// The eml-zip format of `EMLZipWriter` (one directory per folder, `NNNNNN.eml` files and a
/// `manifest.json` per folder) produced as a stream of bytes, for downloads that must never hold
/// the archive whole: each message becomes a stored (uncompressed) entry whose local header is
/// written with its CRC and size known, so no seeking back is needed. Only the central directory
/// (about 80 bytes per message) and the current folder's manifest stay in memory. ZIP64 records
/// are added when the archive passes 4 GiB or 65,535 entries.
public struct EMLZipStream {
    struct CentralEntry {
        var name: [UInt8]
        var crc: UInt32
        var size: UInt32
        var offset: UInt64
        var time: UInt16
        var date: UInt16
    }

    private var central: [CentralEntry] = []
    private var offset: UInt64 = 0
    private var folder: String?
    private var manifest: [EMLZipWriter.Entry] = []
    private var finished = false

    public init() {}

    /// The bytes of one message's entry (and of the previous folder's manifest when `folder`
    /// changes). Messages of one folder must come together.
    public mutating func add(folder: String, message: ArchivedMessage) throws -> [UInt8] {
        guard message.bytes.count < Int(UInt32.max) else { throw ArchiveError(description: "a message is too large for a zip entry") }
        var out: [UInt8] = []
        if self.folder != folder {
            out += closeFolder()
            self.folder = folder
        }
        let name = String(format: "%06d.eml", manifest.count + 1)
        out += entry(folder + "/" + name, message.bytes, date: message.internalDate ?? Date())
        manifest.append(EMLZipWriter.Entry(file: name, flags: message.flags.archiveNames, keywords: message.keywords,
                                           internalDate: message.internalDate))
        return out
    }

    /// The last manifest, the central directory and its end records.
    public mutating func finish() -> [UInt8] {
        guard !finished else { return [] }
        finished = true
        var out = closeFolder()  // (its entry already counted in `offset`)
        let start = offset
        var cd: [UInt8] = []
        for e in central {
            let zip64 = e.offset >= 0xFFFF_FFFF
            cd.le32(0x0201_4B50)
            cd.le16(0x031E)                        // made by: Unix, spec 3.0
            cd.le16(zip64 ? 45 : 20)
            cd.le16(0x0800)                        // UTF-8 names
            cd.le16(0)                             // stored
            cd.le16(e.time); cd.le16(e.date)
            cd.le32(e.crc); cd.le32(e.size); cd.le32(e.size)
            cd.le16(UInt16(e.name.count))
            cd.le16(zip64 ? 12 : 0)
            cd.le16(0); cd.le16(0); cd.le16(0)     // comment, disk, internal attributes
            cd.le32(UInt32(0o100600) << 16)        // -rw-------
            cd.le32(zip64 ? 0xFFFF_FFFF : UInt32(e.offset))
            cd += e.name
            if zip64 { cd.le16(0x0001); cd.le16(8); cd.le64(e.offset) }
        }
        out += cd
        let count = UInt64(central.count)
        let size = UInt64(cd.count)
        let needs64 = count >= 0xFFFF || start >= 0xFFFF_FFFF || size >= 0xFFFF_FFFF
        if needs64 {
            let record = start + size
            out.le32(0x0606_4B50); out.le64(44); out.le16(45); out.le16(45); out.le32(0); out.le32(0)
            out.le64(count); out.le64(count); out.le64(size); out.le64(start)
            out.le32(0x0706_4B50); out.le32(0); out.le64(record); out.le32(1)
        }
        out.le32(0x0605_4B50); out.le16(0); out.le16(0)
        out.le16(needs64 ? 0xFFFF : UInt16(count)); out.le16(needs64 ? 0xFFFF : UInt16(count))
        out.le32(needs64 ? 0xFFFF_FFFF : UInt32(size)); out.le32(needs64 ? 0xFFFF_FFFF : UInt32(start))
        out.le16(0)
        central = []
        return out
    }

    private mutating func closeFolder() -> [UInt8] {
        guard let folder else { return [] }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        let data = (try? encoder.encode(manifest)) ?? Data("[]".utf8)
        manifest = []
        self.folder = nil
        return entry(folder + "/manifest.json", Array(data), date: Date())
    }

    private mutating func entry(_ path: String, _ bytes: [UInt8], date: Date) -> [UInt8] {
        let name = Array(path.utf8)
        let crc = Data(bytes).crc32(checksum: 0)
        let (time, day) = Self.dosTime(date)
        var out: [UInt8] = []
        out.reserveCapacity(30 + name.count + bytes.count)
        out.le32(0x0403_4B50)
        out.le16(20); out.le16(0x0800); out.le16(0)
        out.le16(time); out.le16(day)
        out.le32(crc); out.le32(UInt32(bytes.count)); out.le32(UInt32(bytes.count))
        out.le16(UInt16(name.count)); out.le16(0)
        out += name
        out += bytes
        central.append(CentralEntry(name: name, crc: crc, size: UInt32(bytes.count), offset: offset, time: time, date: day))
        offset += UInt64(out.count)
        return out
    }

    static func dosTime(_ date: Date) -> (UInt16, UInt16) {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        let year = min(max((c.year ?? 1980) - 1980, 0), 127)
        let time = UInt16((c.hour ?? 0) << 11 | (c.minute ?? 0) << 5 | (c.second ?? 0) / 2)
        let day = UInt16(year << 9 | (c.month ?? 1) << 5 | (c.day ?? 1))
        return (time, day)
    }
}

extension [UInt8] {
    fileprivate mutating func le16(_ v: UInt16) { append(UInt8(v & 0xFF)); append(UInt8(v >> 8)) }
    fileprivate mutating func le32(_ v: UInt32) { for i in 0..<4 { append(UInt8((v >> (8 * UInt32(i))) & 0xFF)) } }
    fileprivate mutating func le64(_ v: UInt64) { for i in 0..<8 { append(UInt8((v >> (8 * UInt64(i))) & 0xFF)) } }
}
