// libFuzzer entry point over MailAuth's SPF parser and macro expander (RFC 7208 §4.6, §7). Built by
// scripts/fuzz.sh with `swiftc -sanitize=fuzzer,address -parse-as-library -module-name DNSCore` over
// Sources/DNSCore/*.swift and the dependency-free SPF files (SPFRecord, SPFMacroString, SPFResult,
// SPFLimits; their `import DNSCore` is then ignored, with a warning). Each input is read as a record
// as it is and behind "v=spf1 ", as a macro-string of each kind, and as an expanded target name.
// Besides crashes and hangs it checks invariants, trapping when one breaks:
// - a record that parses is an SPF record, and its canonical text parses back to the same record;
// - a macro-string's text parses back to the same macro-string; an expansion never passes its limit;
// - a target name is a valid DNS name of at most 253 bytes (labels 1…63, never empty);
// - expansions with values taken from the input (sender, HELO, domain) keep those invariants.

let fixed = SPFMacroContext(sender: "strong-bad@email.example.com", domain: "email.example.com", ip: IPAddress("192.0.2.3")!,
                            helo: "mx.example.org", validatedName: "mx.example.org", receivingHost: "mx.example.net", timestamp: 1_700_000_000)

func checkName(_ name: DNSName?) {
    guard let name else { return }
    precondition(!name.isRoot, "a target name is never the root")
    precondition(name.labels.allSatisfy { (1...DNSLimits.maxLabelLength).contains($0.count) })
    precondition(name.labels.reduce(0) { $0 + $1.count + 1 } - 1 <= 253, "target name over 253 bytes")
    precondition(name.wire.count <= DNSLimits.maxNameWireLength)
}

func checkExpansion(_ string: SPFMacroString, _ contexts: [SPFMacroContext], isDomain: Bool) {
    for context in contexts {
        for limit in [64, 8192] {
            guard let expanded = string.expand(context, maxLength: limit) else { continue }
            precondition(expanded.count <= limit, "expansion past its limit")
            if isDomain { checkName(SPFMacroString.targetName(expanded)) }
        }
    }
}

func checkMacroString(_ bytes: ArraySlice<UInt8>, _ contexts: [SPFMacroContext]) {
    for kind in [SPFMacroString.Kind.domainSpec, .modifierValue, .explanation] {
        guard let string = try? SPFMacroString.parse(bytes, as: kind) else { continue }
        let again = try? SPFMacroString.parse(Array(string.description.utf8), as: kind)
        precondition(again == string, "macro-string round trip: \(string)")
        checkExpansion(string, contexts, isDomain: kind == .domainSpec)
    }
}

func checkRecord(_ bytes: [UInt8], _ contexts: [SPFMacroContext]) {
    guard let record = try? SPFRecord.parse(bytes: bytes, maxLength: 4096) else { return }
    precondition(SPFRecord.isSPF(bytes), "a record parsed without v=spf1")
    let again = try? SPFRecord.parse(bytes: Array(record.description.utf8), maxLength: 1 << 20)
    precondition(again == record, "record round trip: \(record)")
    precondition(record.directives.count + (record.redirect == nil ? 0 : 1) + (record.explanation == nil ? 0 : 1) <= record.terms.count)
    for directive in record.directives {
        _ = directive.mechanism.causesDNSLookup
        switch directive.mechanism {
        case .include(let d), .exists(let d), .ptr(let d?):
            checkExpansion(d, contexts, isDomain: true)
        case .a(let d, let cidr), .mx(let d, let cidr):
            if let d { checkExpansion(d, contexts, isDomain: true) }
            precondition((0...32).contains(cidr.ip4) && (0...128).contains(cidr.ip6))
        case .ip4(let ip, let n):
            precondition(ip.isIPv4 && (0...32).contains(n))
        case .ip6(let ip, let n):
            precondition(!ip.isIPv4 && (0...128).contains(n))
        case .all, .ptr(nil):
            break
        }
    }
    if let redirect = record.redirect { checkExpansion(redirect, contexts, isDomain: true) }
    if let explanation = record.explanation { checkExpansion(explanation, contexts, isDomain: true) }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func spfFuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let text = String(decoding: bytes.prefix(300), as: UTF8.self)
    // Values from the input: a sender with odd local-parts, a HELO, an IPv6 client.
    let fromInput = SPFMacroContext(sender: text, domain: text, ip: IPAddress("2001:db8::cb01")!, helo: text, validatedName: text,
                                    receivingHost: text, timestamp: -1)
    let contexts = [fixed, fromInput]

    checkRecord(bytes, contexts)
    checkRecord(Array("v=spf1 ".utf8) + bytes, contexts)
    checkMacroString(bytes[...], contexts)
    checkName(SPFMacroString.targetName(bytes))
    return 0
}
