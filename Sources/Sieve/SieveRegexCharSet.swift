/// A bracket expression of a regular expression: single scalars, ranges and POSIX classes.
struct SieveRegexCharSet: Sendable {
    var negated = false
    var scalars: Set<UInt32> = []
    var ranges: [ClosedRange<UInt32>] = []
    var classes: [String] = []

    func contains(_ c: Unicode.Scalar, caseInsensitive: Bool) -> Bool {
        var hit = rawContains(c.value)
        if !hit && caseInsensitive {
            let v = c.value
            if v >= 65 && v <= 90 { hit = rawContains(v + 32) } else if v >= 97 && v <= 122 { hit = rawContains(v - 32) }
        }
        return hit != negated
    }

    private func rawContains(_ v: UInt32) -> Bool {
        if scalars.contains(v) { return true }
        for r in ranges where r.contains(v) { return true }
        for c in classes where Self.inClass(c, v) { return true }
        return false
    }

    static func inClass(_ name: String, _ v: UInt32) -> Bool {
        let isUpper = v >= 65 && v <= 90, isLower = v >= 97 && v <= 122, isDigit = v >= 48 && v <= 57
        switch name {
        case "alpha": return isUpper || isLower
        case "digit": return isDigit
        case "alnum": return isUpper || isLower || isDigit
        case "upper": return isUpper
        case "lower": return isLower
        case "space": return v == 32 || (v >= 9 && v <= 13)
        case "blank": return v == 32 || v == 9
        case "punct": return (v >= 33 && v <= 47) || (v >= 58 && v <= 64) || (v >= 91 && v <= 96) || (v >= 123 && v <= 126)
        case "print": return v >= 32 && v <= 126
        case "graph": return v >= 33 && v <= 126
        case "cntrl": return v < 32 || v == 127
        case "xdigit": return isDigit || (v >= 65 && v <= 70) || (v >= 97 && v <= 102)
        case "word": return isUpper || isLower || isDigit || v == 95
        default: return false
        }
    }

    static let knownClasses: Set<String> = ["alpha", "digit", "alnum", "upper", "lower", "space", "blank", "punct",
                                           "print", "graph", "cntrl", "xdigit"]
}
