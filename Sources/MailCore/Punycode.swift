/// Punycode (RFC 3492): the Bootstring encoding IDNA uses to turn a Unicode label into the ASCII
/// that follows `xn--` in an A-label.
///
/// Pure and allocation-light; works on Unicode scalars. Both directions fail (return `nil`) rather
/// than overflow, as RFC 3492 §6.4 requires.
public enum Punycode {
    // RFC 3492 §5 parameter values.
    private static let base = 36
    private static let tMin = 1
    private static let tMax = 26
    private static let skew = 38
    private static let damp = 700
    private static let initialBias = 72
    private static let initialN = 0x80
    private static let delimiter: Unicode.Scalar = "-"
    /// Larger than any code point times any label length we accept; keeps every sum far from `Int.max`.
    private static let limit = Int(Int32.max)

    /// Encodes `input` (no `xn--` prefix is added). Basic code points are copied as they are.
    public static func encode(_ input: String) -> String? {
        encode(Array(input.unicodeScalars))
    }

    public static func encode(_ input: [Unicode.Scalar]) -> String? {
        let codePoints = input.map { Int($0.value) }
        var output = String.UnicodeScalarView()
        for scalar in input where scalar.isASCII { output.append(scalar) }
        let basicCount = output.count
        var handled = basicCount
        if basicCount > 0 { output.append(delimiter) }

        var n = initialN
        var delta = 0
        var bias = initialBias
        while handled < codePoints.count {
            // The smallest code point not yet handled.
            guard let m = codePoints.filter({ $0 >= n }).min() else { return nil }
            let (step, overflow) = (m - n).multipliedReportingOverflow(by: handled + 1)
            guard !overflow, delta + step <= limit else { return nil }
            delta += step
            n = m
            for c in codePoints {
                if c < n {
                    delta += 1
                    guard delta <= limit else { return nil }
                }
                if c == n {
                    var q = delta
                    var k = base
                    while true {
                        let t = threshold(k, bias)
                        if q < t { break }
                        output.append(digit(t + (q - t) % (base - t)))
                        q = (q - t) / (base - t)
                        k += base
                    }
                    output.append(digit(q))
                    bias = adapt(delta, handled + 1, firstTime: handled == basicCount)
                    delta = 0
                    handled += 1
                }
            }
            delta += 1
            n += 1
        }
        return String(output)
    }

    /// Decodes the part after `xn--`. Upper- and lower-case digits are equivalent; the case of basic
    /// code points is kept as it is. Returns `nil` for malformed input.
    public static func decode(_ input: String) -> [Unicode.Scalar]? {
        let scalars = Array(input.unicodeScalars)
        guard scalars.allSatisfy(\.isASCII) else { return nil }
        var output: [Unicode.Scalar] = []
        var position = 0
        if let last = scalars.lastIndex(of: delimiter) {
            output = Array(scalars[..<last])
            position = last + 1
        }

        var n = initialN
        var i = 0
        var bias = initialBias
        while position < scalars.count {
            let oldI = i
            var w = 1
            var k = base
            while true {
                guard position < scalars.count, let d = value(of: scalars[position]) else { return nil }
                position += 1
                let (product, overflow) = d.multipliedReportingOverflow(by: w)
                guard !overflow, i + product <= limit else { return nil }
                i += product
                let t = threshold(k, bias)
                if d < t { break }
                let (nextW, overflowW) = w.multipliedReportingOverflow(by: base - t)
                guard !overflowW, nextW <= limit else { return nil }
                w = nextW
                k += base
            }
            let count = output.count + 1
            bias = adapt(i - oldI, count, firstTime: oldI == 0)
            n += i / count
            guard n <= limit else { return nil }
            i %= count
            // Decoding must produce non-basic code points only, and valid scalars (no surrogates).
            guard n >= initialN, let scalar = Unicode.Scalar(UInt32(n)) else { return nil }
            output.insert(scalar, at: i)
            i += 1
        }
        return output
    }

    private static func threshold(_ k: Int, _ bias: Int) -> Int {
        if k <= bias { return tMin }
        if k >= bias + tMax { return tMax }
        return k - bias
    }

    private static func adapt(_ delta: Int, _ count: Int, firstTime: Bool) -> Int {
        var delta = firstTime ? delta / damp : delta / 2
        delta += delta / count
        var k = 0
        while delta > ((base - tMin) * tMax) / 2 {
            delta /= base - tMin
            k += base
        }
        return k + (base - tMin + 1) * delta / (delta + skew)
    }

    /// 0–25 → a–z, 26–35 → 0–9.
    private static func digit(_ d: Int) -> Unicode.Scalar {
        Unicode.Scalar(UInt8(d < 26 ? 0x61 + d : 0x30 + d - 26))
    }

    private static func value(of scalar: Unicode.Scalar) -> Int? {
        switch scalar.value {
        case 0x30...0x39: Int(scalar.value) - 0x30 + 26
        case 0x41...0x5A: Int(scalar.value) - 0x41
        case 0x61...0x7A: Int(scalar.value) - 0x61
        default: nil
        }
    }
}
