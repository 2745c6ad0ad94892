// libFuzzer entry point over MailAuth's pure DKIM and ARC parsers: the tag-list parser, base64,
// DKIM-Signature / ARC-Message-Signature / ARC-Seal fields, key records (with the RSA DER reader),
// the canonicalizations, the header selection and ARC set grouping. Built by scripts/fuzz.sh with
// `swiftc -sanitize=fuzzer,address -parse-as-library` over the dependency-free MailAuth files it lists
// (no Crypto there) and this file. Every input goes through every parser: as a tag list, as the value of
// each signature field kind, as a key record, as DER, and as a whole message. Besides crashes and hangs
// it checks invariants, trapping when one breaks:
// - a parsed tag list has unique names within the limits, each value inside the input, trimmed, without ";";
// - base64 that decodes re-encodes to the same bytes; encoding then decoding gives the input back;
// - the values an outcome reports (d=, s=, a=, i=, header.b) hold no white space; header.b only base64;
// - a signature field without problem has what verification needs (b=, d=, s=, From in h=, a valid
//   instance and cv= for ARC); its copy with b= emptied is the field minus one contiguous run;
// - the canonicalizations are idempotent, bodies end in CRLF, relaxed headers hold one CRLF at the end;
// - header selection picks distinct fields of the named names; ARC sets are contiguous from 1 with valid cv=.

func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0D || b == 0x0A }

func checkTagList(_ bytes: [UInt8]) {
    guard let list = try? DKIMTagList.parse(bytes) else { return }
    precondition(list.tags.count <= DKIMLimits.maxTags)
    precondition(Set(list.tags.map(\.name)).count == list.tags.count, "duplicate tag names")
    for tag in list.tags {
        precondition(tag.afterEquals <= tag.valueEnd && tag.valueEnd <= bytes.count)
        precondition(bytes[tag.afterEquals - 1] == UInt8(ascii: "="))
        precondition(!tag.value.contains(UInt8(ascii: ";")))
        if let first = tag.value.first, let last = tag.value.last { precondition(!isSpace(first) && !isSpace(last)) }
        let slice = Array(bytes[tag.afterEquals..<tag.valueEnd].drop(while: isSpace))
        precondition(slice == tag.value, "value is not the input's bytes")
        _ = DKIMTagList.list(tag.value)
        _ = DKIMTagList.number(tag.value)
    }
}

func checkBase64(_ bytes: [UInt8]) {
    if let decoded = DKIMBase64.decode(bytes) {
        precondition(DKIMBase64.decode(DKIMBase64.encode(decoded)) == decoded)
    }
    let encoded = DKIMBase64.encode(bytes)
    precondition(DKIMBase64.decode(encoded) == bytes, "base64 round trip")
}

func checkSignature(_ value: [UInt8], kind: DKIMSignatureFields.Kind) {
    let raw = Array((kind.fieldName + ":").utf8) + value
    let fields = DKIMSignatureFields.parse(raw, kind: kind)
    precondition(fields.headerB.utf8.count <= 12 && fields.headerB.utf8.allSatisfy(DKIMSignatureFields.isBase64Character))
    // What an outcome reports holds no white space or line break (it may go into an Authentication-Results field).
    for text in [fields.domain, fields.selector, fields.algorithm, fields.identity ?? ""] {
        precondition(!text.utf8.contains(where: isSpace), "white space in a reported value")
    }
    _ = fields.timeProblem(now: 1_800_000_000)
    if !fields.withoutSignature.isEmpty {
        // The field minus one contiguous run.
        let without = fields.withoutSignature
        precondition(without.count <= raw.count)
        let prefix = zip(raw, without).prefix { $0 == $1 }.count
        let suffix = zip(raw.reversed(), without.reversed()).prefix { $0 == $1 }.count
        precondition(prefix + suffix >= without.count, "b= removal changed more than one run")
    }
    guard fields.problem == nil else { return }
    precondition(!fields.signature.isEmpty && DKIMSignatureFields.isDomainName(fields.domain) && DKIMSignatureFields.isDomainName(fields.selector))
    precondition(fields.keyType != nil && !fields.withoutSignature.isEmpty)
    switch kind {
    case .dkim, .arcMessageSignature:
        precondition(fields.signedFields.contains("from") && !fields.bodyHash.isEmpty)
        precondition(fields.signedFields.count <= DKIMLimits.maxSignedFields)
        if kind == .arcMessageSignature { precondition(!fields.signedFields.contains("arc-seal")) }
    case .arcSeal:
        precondition(["none", "pass", "fail"].contains(fields.chainValidation ?? ""))
        precondition(fields.headerCanonicalization == .relaxed)
    }
    if kind != .dkim { precondition((1...DKIMLimits.maxARCInstances).contains(fields.instance ?? 0)) }
}

func checkKeyRecord(_ bytes: [UInt8]) {
    if let record = try? DKIMKeyRecord.parse(bytes) {
        _ = (record.isRevoked, record.allowsEmail, record.isStrict, record.isTesting)
    }
    if let bits = DKIMKeyRecord.rsaModulusBits(bytes) { precondition(bits >= 1 && bits <= bytes.count * 8) }
}

func checkMessage(_ bytes: [UInt8]) {
    let (fields, bodyStart) = DKIMCanonicalization.split(bytes)
    precondition(bodyStart <= bytes.count)
    let body = bytes[bodyStart...]
    let relaxed = DKIMCanonicalization.relaxedBody(body)
    precondition(DKIMCanonicalization.relaxedBody(relaxed[...]) == relaxed, "relaxed body not idempotent")
    precondition(relaxed.isEmpty || relaxed.suffix(2) == [0x0D, 0x0A])
    let simple = DKIMCanonicalization.simpleBody(body)
    precondition(DKIMCanonicalization.simpleBody(simple[...]) == simple, "simple body not idempotent")
    precondition(simple.suffix(2) == [0x0D, 0x0A] && (simple.count == 2 || simple.suffix(4) != [0x0D, 0x0A, 0x0D, 0x0A]))
    for field in fields.prefix(64) {
        let canonical = DKIMCanonicalization.relaxedHeader(field.raw)
        precondition(canonical.suffix(2) == [0x0D, 0x0A] && !canonical.dropLast(2).contains(0x0A) && !canonical.dropLast(2).contains(0x0D))
        precondition(DKIMCanonicalization.relaxedHeader(Array(canonical.dropLast(2))) == canonical, "relaxed header not idempotent")
        precondition(DKIMCanonicalization.simpleHeader(field.raw) == field.raw + [0x0D, 0x0A])
    }
    // Each DKIM-Signature's header selection and hash input.
    for field in fields.prefix(64) where field.name.lowercased() == "dkim-signature" {
        let signature = DKIMSignatureFields.parse(field.raw, kind: .dkim)
        let names = signature.signedFields.isEmpty ? ["from", "subject", "from"] : signature.signedFields
        let chosen = DKIMHeaderHash.select(fields, names: names)
        precondition(chosen.count == names.count)
        let picked = chosen.compactMap { $0 }
        precondition(Set(picked).count == picked.count, "a field selected twice")
        for (name, index) in zip(names, chosen) {
            if let index { precondition(fields[index].name.lowercased() == name.lowercased()) }
        }
        _ = DKIMHeaderHash.input(fields, names: names, algorithm: signature.headerCanonicalization, ownField: signature.withoutSignature)
    }
    // ARC sets.
    switch ARCHeaderSets.parse(fields) {
    case .none, .broken: break
    case .sets(let sets):
        precondition(!sets.isEmpty && sets.count <= DKIMLimits.maxARCInstances)
        var used = Set<Int>()
        for (offset, set) in sets.enumerated() {
            precondition(set.instance == offset + 1)
            precondition(set.sealFields.chainValidation == (set.instance == 1 ? "none" : "pass"))
            for index in [set.authenticationResults, set.messageSignature, set.seal] {
                precondition(fields.indices.contains(index) && used.insert(index).inserted)
            }
            let previous = sets[..<offset].map { (aar: fields[$0.authenticationResults].raw, ams: fields[$0.messageSignature].raw, seal: fields[$0.seal].raw) }
            _ = ARCHeaderSets.sealInput(previous: previous, aar: fields[set.authenticationResults].raw, ams: fields[set.messageSignature].raw,
                                        ownSeal: set.sealFields.withoutSignature)
        }
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func dkimFuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    checkTagList(bytes)
    checkBase64(bytes)
    for kind in [DKIMSignatureFields.Kind.dkim, .arcMessageSignature, .arcSeal] { checkSignature(bytes, kind: kind) }
    checkKeyRecord(bytes)
    checkMessage(bytes)
    return 0
}
