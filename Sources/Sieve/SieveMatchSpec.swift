/// Comparators (RFC 4790 as used by RFC 5228 §2.7.3).
enum SieveComparator: String, Sendable {
    case octet = "i;octet"
    case asciiCasemap = "i;ascii-casemap"
    case asciiNumeric = "i;ascii-numeric"
}

/// RFC 5231 relational operators.
enum SieveRelation: String, Sendable {
    case gt, ge, lt, le, eq, ne

    func holds(_ order: Int) -> Bool {   // order: <0, 0, >0 of (value vs key)
        switch self {
        case .gt: return order > 0
        case .ge: return order >= 0
        case .lt: return order < 0
        case .le: return order <= 0
        case .eq: return order == 0
        case .ne: return order != 0
        }
    }
}

enum SieveMatchType: Sendable {
    case `is`, contains, matches, regex
    case value(SieveRelation)
    case count(SieveRelation)
}

enum SieveAddressPart: String, Sendable { case all, localpart, domain, user, detail }

/// The match type, comparator and address part a test was given (defaults :is, i;ascii-casemap, :all).
struct SieveMatchSpec: Sendable {
    var matchType: SieveMatchType = .is
    var comparator: SieveComparator = .asciiCasemap
    var addressPart: SieveAddressPart = .all
    /// Pre-compiled regular expressions, one per key, when the keys are constant.
    var regexes: [SieveRegex?] = []

    var setsMatchValues: Bool {
        switch matchType {
        case .matches, .regex: return true
        default: return false
        }
    }
}
