// libFuzzer entry point over the whole MIMEParser surface and IMAPCore's encoders of its values. Built
// by scripts/fuzz.sh with `swiftc -sanitize=fuzzer,address -parse-as-library -module-name MIMEParser
// Sources/MIMEParser/*.swift <IMAPCore's three NIO-free wire files> Fuzz/MIMEFuzz/main.swift`.
// Besides crashes and hangs it checks structural invariants, trapping when one breaks.

@_cdecl("LLVMFuzzerTestOneInput")
public func mimeFuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let limits = MIMELimits(maxDepth: 20, maxParts: 300)
    let m = MIMEMessage.parse(bytes, limits: limits)
    func check(_ p: MIMEPart) {
        precondition(p.headerRange.lowerBound >= 0 && p.headerRange.upperBound <= bytes.count)
        precondition(p.bodyRange.lowerBound >= p.headerRange.upperBound && p.bodyRange.upperBound <= bytes.count)
        for c in p.children {
            precondition(c.headerRange.lowerBound >= p.bodyRange.lowerBound && c.bodyRange.upperBound <= p.bodyRange.upperBound)
            check(c)
        }
    }
    check(m.root)
    precondition(m.headerLength <= bytes.count)
    _ = m.imapEnvelope()
    _ = m.imapBodyStructure(extended: false)
    _ = m.imapBodyStructure(extended: true)
    // The stored structure comes back exactly; the decoder takes any bytes without trapping.
    let structure = m.structure
    precondition(MessageStructure(encoded: structure.encoded(), limits: limits) == structure)
    _ = MessageStructure(encoded: bytes, limits: limits)
    _ = MessageStructure(encoded: [MessageStructure.version] + bytes, limits: limits)
    _ = m.subject; _ = m.date; _ = m.messageID; _ = m.inReplyTo; _ = m.references
    _ = m.from; _ = m.to; _ = m.cc
    _ = m.searchText()
    for (number, _, _) in m.partList().prefix(50) {
        for kind: IMAPSection.Kind in [.full, .mime, .header, .text, .headerFields(["From", "Subject"]), .headerFieldsNot(["To"])] {
            _ = m.section(IMAPSection(part: number, kind: kind))
        }
        _ = m.binary(part: number)
        _ = m.binarySize(part: number)
        _ = m.hasUnknownTransferEncoding(part: number)
    }
    _ = MIMEInspector.report(for: bytes)
    // The 7-bit form of outgoing mail is 7-bit and parses again.
    if let seven = SevenBitDowngrade.convert(bytes) {
        precondition(!seven.contains { $0 >= 0x80 })
        _ = MIMEMessage.parse(seven, limits: limits).leafParts
    }
    // Submission reads only the header block: a prefix of the input plus CRLF (or the whole
    // input), which reads the same on its own.
    let block = SubmissionHeaderFacts.headerBlock(bytes)
    precondition(block == bytes || (block.count >= 2 && bytes.starts(with: block.dropLast(2)) && Array(block.suffix(2)) == [0x0D, 0x0A]))
    precondition(SubmissionHeaderFacts.headerBlock(block) == block)
    precondition(SubmissionHeaderFacts(bytes, limits: limits) == SubmissionHeaderFacts(block, limits: limits))
    if let s = String(validatingUTF8: bytes.prefix(200).map { $0 == 0 ? 32 : CChar(bitPattern: $0) } + [0]) {
        _ = IMAPSection(imapSpec: s)
    }
    return 0
}
