/// A string argument after compile-time processing: encoded characters decoded (RFC 5228
/// §2.4.2.4) and, when `variables` is in use, `${…}` references split out (RFC 5229 §3).
struct SieveString: Sendable, Hashable {
    enum Part: Sendable, Hashable {
        case text(String)
        /// A variable name, lower-cased (`global.x` and `x` kept as written after lower-casing).
        case variable(String)
        case matchValue(Int)
    }

    var parts: [Part]
    /// The value when there is no variable reference in it.
    var constant: String?

    init(constant: String) { parts = [.text(constant)]; self.constant = constant }
    init(parts: [Part]) {
        self.parts = parts
        if parts.allSatisfy({ if case .text = $0 { return true } else { return false } }) {
            constant = parts.map { if case .text(let t) = $0 { return t } else { return "" } }.joined()
        } else {
            constant = nil
        }
    }

    /// The text as written (variables shown as `${name}`), for compile-time checks.
    var source: String {
        constant ?? parts.map {
            switch $0 {
            case .text(let t): return t
            case .variable(let v): return "${\(v)}"
            case .matchValue(let n): return "${\(n)}"
            }
        }.joined()
    }

    /// Splits `${name}` / `${N}` references out of `text` (RFC 5229 §3). Invalid references stay literal.
    static func parse(_ text: String, variables: Bool) -> SieveString {
        guard variables, text.contains("${") else { return SieveString(constant: text) }
        let u = Array(text.utf8)
        var parts = [Part]()
        var lit = [UInt8]()
        var i = 0
        while i < u.count {
            if u[i] == UInt8(ascii: "$"), i + 1 < u.count, u[i + 1] == UInt8(ascii: "{"),
               let close = u[(i + 2)...].firstIndex(of: UInt8(ascii: "}")) {
                let name = String(decoding: u[(i + 2)..<close], as: UTF8.self)
                if let ref = reference(name) {
                    if !lit.isEmpty { parts.append(.text(String(decoding: lit, as: UTF8.self))); lit = [] }
                    parts.append(ref)
                    i = close + 1
                    continue
                }
            }
            lit.append(u[i]); i += 1
        }
        if !lit.isEmpty || parts.isEmpty { parts.append(.text(String(decoding: lit, as: UTF8.self))) }
        return SieveString(parts: parts)
    }

    /// `${N}` or `${identifier(.identifier)*}`.
    static func reference(_ name: String) -> Part? {
        guard !name.isEmpty else { return nil }
        if name.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) {
            return Int(name).map { .matchValue($0) } ?? .matchValue(Int.max)
        }
        let pieces = name.split(separator: ".", omittingEmptySubsequences: false)
        for p in pieces where !isIdentifier(p) { return nil }
        return .variable(name.lowercased())
    }

    static func isIdentifier<S: StringProtocol>(_ s: S) -> Bool {
        guard let f = s.utf8.first, f == 95 || (f >= 65 && f <= 90) || (f >= 97 && f <= 122) else { return false }
        return s.utf8.allSatisfy { $0 == 95 || ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) }
    }
}
