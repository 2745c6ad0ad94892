import Foundation
import MIMEParser

/// RFC 5260 dates: parsing an RFC 2822 date header with its zone, and the date parts.
struct SieveDate: Sendable {
    /// Seconds since 1970 (UTC).
    var epoch: Int
    /// Offset east of UTC in seconds.
    var offset: Int

    /// `+hhmm` / `-hhmm` (RFC 5260 §4.1), in seconds.
    static func parseZone(_ z: String) -> Int? {
        let u = Array(z.utf8)
        guard u.count == 5, u[0] == UInt8(ascii: "+") || u[0] == UInt8(ascii: "-"),
              u[1...].allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
        let hh = Int(u[1] - 48) * 10 + Int(u[2] - 48), mm = Int(u[3] - 48) * 10 + Int(u[4] - 48)
        guard hh <= 23 || true, mm < 60 else { return nil }
        return (u[0] == UInt8(ascii: "-") ? -1 : 1) * (hh * 3600 + mm * 60)
    }

    static func zoneString(_ offset: Int) -> String {
        let sign = offset < 0 ? "-" : "+"
        let a = abs(offset) / 60
        return sign + pad(a / 60, 2) + pad(a % 60, 2)
    }

    static func pad(_ n: Int, _ width: Int) -> String {
        let s = String(n)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }

    static let monthNames = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    static let dayNames = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]

    /// An RFC 2822 date-time (`[Fri, ]13 Feb 2009 23:31:30 +0100`, obsolete zones and comments
    /// allowed), read by the message parser's own date reader.
    static func parse(_ text: String) -> SieveDate? {
        guard let written = MessageDate.parse(Array(text.utf8)) else { return nil }
        return SieveDate(epoch: Int(written.date.timeIntervalSince1970), offset: written.offsetSeconds)
    }

    /// The same instant seen in another zone.
    func inZone(_ offset: Int) -> SieveDate { SieveDate(epoch: epoch, offset: offset) }

    /// A date part (RFC 5260 §4.2) in this date's zone.
    func part(_ name: String) -> String? {
        let local = epoch + offset
        let days = Int((Double(local) / 86_400).rounded(.down))
        let secs = local - days * 86_400
        let (y, mo, d) = CivilDate.date(daysSinceEpoch: days)
        let hh = secs / 3600, mi = (secs % 3600) / 60, ss = secs % 60
        switch name.lowercased() {
        case "year": return Self.pad(y, 4)
        case "month": return Self.pad(mo, 2)
        case "day": return Self.pad(d, 2)
        case "date": return "\(Self.pad(y, 4))-\(Self.pad(mo, 2))-\(Self.pad(d, 2))"
        case "julian": return String(days + 40_587)
        case "hour": return Self.pad(hh, 2)
        case "minute": return Self.pad(mi, 2)
        case "second": return Self.pad(ss, 2)
        case "time": return "\(Self.pad(hh, 2)):\(Self.pad(mi, 2)):\(Self.pad(ss, 2))"
        case "iso8601":
            let z = Self.zoneString(offset)
            let zone = z.prefix(3) + ":" + z.suffix(2)
            return "\(Self.pad(y, 4))-\(Self.pad(mo, 2))-\(Self.pad(d, 2))T\(Self.pad(hh, 2)):\(Self.pad(mi, 2)):\(Self.pad(ss, 2))\(zone)"
        case "std11":
            let wd = ((days % 7) + 11) % 7
            return "\(Self.dayNames[wd]), \(d) \(Self.monthNames[mo - 1]) \(Self.pad(y, 4)) \(Self.pad(hh, 2)):\(Self.pad(mi, 2)):\(Self.pad(ss, 2)) \(Self.zoneString(offset))"
        case "zone": return Self.zoneString(offset)
        case "weekday": return String(((days % 7) + 11) % 7)
        default: return nil
        }
    }
}
