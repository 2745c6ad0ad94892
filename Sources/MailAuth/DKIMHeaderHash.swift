/// The header part of what a DKIM signature signs (RFC 6376 §3.7, §5.4.2): the fields named in
/// `h=`, each occurrence taken from the bottom up, then the signature's own field with its `b=`
/// value emptied and without its final CRLF. Pure (fuzzed, Fuzz/DKIMFuzz).
enum DKIMHeaderHash {
    /// The index in `fields` of the field each `h=` entry selects, nil for an entry with no (more)
    /// occurrence: it contributes nothing, "the null string" (§5.4). Names are compared without
    /// regard to case; the n-th mention of a name takes its n-th occurrence counting from the bottom.
    static func select(_ fields: [DKIMCanonicalization.HeaderField], names: [String]) -> [Int?] {
        // Occurrences of each name, bottom first.
        var occurrences: [String: [Int]] = [:]
        let wanted = Set(names.map { $0.lowercased() })
        for index in fields.indices.reversed() {
            let name = fields[index].name.lowercased()
            if wanted.contains(name) { occurrences[name, default: []].append(index) }
        }
        var used: [String: Int] = [:]
        return names.map { raw in
            let name = raw.lowercased()
            let n = used[name, default: 0]
            used[name] = n + 1
            guard let list = occurrences[name], n < list.count else { return nil }
            return list[n]
        }
    }

    /// The bytes to hash: the selected fields canonicalized with `algorithm`, then `ownField`
    /// (the signature field with `b=` emptied, see `removingSignature`) canonicalized the same way
    /// without its CRLF.
    static func input(_ fields: [DKIMCanonicalization.HeaderField], names: [String], algorithm: DKIMCanonicalization.Algorithm,
                      ownField: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        for index in select(fields, names: names) {
            guard let index else { continue }
            out.append(contentsOf: algorithm.header(fields[index].raw))
        }
        var own = algorithm.header(ownField)
        own.removeLast(2)
        out.append(contentsOf: own)
        return out
    }

    /// The field (`raw`, name included) with the value of its `b=` tag removed and everything else
    /// kept, folding included (RFC 6376 §3.7): the bytes from just after "b=" to the end of the
    /// value go, white space after the value stays. `tag` is the list's `b` tag parsed from the
    /// field's value, which starts at `valueOffset` in `raw`.
    static func removingSignature(_ raw: [UInt8], tag: DKIMTagList.Tag, valueOffset: Int) -> [UInt8] {
        let start = valueOffset + tag.afterEquals, end = valueOffset + tag.valueEnd
        guard start <= end, end <= raw.count else { return raw }
        return Array(raw[..<start]) + raw[end...]
    }
}
