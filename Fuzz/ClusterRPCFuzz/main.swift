// libFuzzer target over the cluster RPC codec (ClusterRPCCore): frame decoding (one frame, and a
// message of frames back to back), message assembly
// and every payload reader of the mailbox seam's values. Besides crashes and hangs it checks
// invariants, trapping when one breaks: a decoded frame encodes back to the same bytes; assembly
// never holds more than its limits; a record or change read back from its own encoding reads the same.
// Built by scripts/fuzz.sh:
//   swift build --scratch-path .build-fuzz --product ClusterRPCFuzz -Xswiftc -sanitize=fuzzer,address -Xswiftc -DRPC_FUZZ
// A plain build (no RPC_FUZZ) makes a replay tool: `ClusterRPCFuzz file…` runs each file through the same checks.
import ClusterRPCCore
import Foundation
import MailboxAPI

/// Small limits, so that the fuzzer reaches every limit path with short inputs.
private func fuzzLimits() -> RPCLimits { RPCLimits(maxFramePayload: 512, chunkSize: 64, maxMessageBytes: 2048, maxAssembling: 4, maxInFlight: 8,
                               maxStringBytes: 128, maxElements: 64) }

/// Each payload reader, as the server and client run them.
private func payloadReaders() -> [(inout RPCReader) throws -> Void] { [
    { _ = try $0.folderInfo() }, { _ = try $0.folderStatus() }, { _ = try $0.record() }, { _ = try $0.records() },
    { _ = try $0.uidSet() }, { _ = try $0.copyResult() }, { _ = try $0.storeResult() }, { _ = try $0.folderChanges() },
    { _ = try $0.change() }, { _ = try $0.appendRequest() }, { _ = try $0.searchFields() }, { _ = try $0.uidBytes() },
    { _ = try $0.inboundMailbox() }, { _ = try $0.outboundJob() }, { _ = try $0.deliveryOutcome() }, { _ = try $0.mailStoreError() },
    { _ = try $0.address() }, { _ = try $0.prefetch() }, { _ = try $0.flagOperation() },
] }

func rpcFuzzOne(_ bytes: [UInt8]) {
    let limits = fuzzLimits(), readers = payloadReaders()
    // 1. The input as one frame.
    if let frame = try? RPCFrame.decode(bytes, limits: limits) {
        precondition(frame.payload.count <= limits.maxFramePayload)
        precondition(frame.encoded() == bytes, "a decoded frame encodes back to its bytes")
    }
    // 1b. The input as one message of frames back to back.
    if let frames = try? RPCFrame.decodeBatch(bytes, limits: limits) {
        precondition(frames.flatMap { $0.encoded() } == bytes, "decoded frames encode back to the message")
        precondition(RPCFrame.encodeBatch(frames, maxMessage: bytes.count) == [bytes], "frames pack back into one message")
    }
    // 2. The input as a run of frames (2-byte length prefixes) through one assembler.
    var assembler = RPCAssembler(limits: limits)
    var i = 0
    while i + 2 <= bytes.count {
        let n = Int(bytes[i]) << 8 | Int(bytes[i + 1])
        i += 2
        let end = min(bytes.count, i + n)
        if let frame = try? RPCFrame.decode(bytes[i ..< end], limits: limits) {
            if let message = try? assembler.add(frame) { precondition(message.payload.count <= limits.maxMessageBytes) }
            precondition(assembler.assembling <= limits.maxAssembling)
        }
        i = end
    }
    // 3. The input as a payload for every reader; what reads also round-trips.
    guard let selector = bytes.first else { return }
    var r = RPCReader(Array(bytes.dropFirst()), limits: limits)
    _ = try? readers[Int(selector) % readers.count](&r)
    var r2 = RPCReader(Array(bytes.dropFirst()), limits: limits)
    if let record = try? r2.record() {
        var w = RPCWriter()
        w.record(record)
        var back = RPCReader(w.bytes, limits: limits)
        let again = try? back.record()  // dates go through Double: compare the rest
        precondition(again?.uid == record.uid && again?.keywords == record.keywords && again?.subject == record.subject
                     && again?.flags == record.flags && again?.emailID == record.emailID, "a record reads back the same")
    }
    var r3 = RPCReader(Array(bytes.dropFirst()), limits: limits)
    if let change = try? r3.change() {
        var w = RPCWriter()
        w.change(change)
        var back = RPCReader(w.bytes, limits: limits)
        precondition((try? back.change()) == change, "a change reads back the same")
    }
    _ = try? RPCErrorPayload.decode(bytes, limits: limits)
}

#if RPC_FUZZ
/// libFuzzer's driver (SwiftPM makes `main` this module's entry point; see IMAPFuzz).
@_silgen_name("LLVMFuzzerRunDriver")
private func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

var argc = CommandLine.argc
var argv = CommandLine.unsafeArgv
let rc = LLVMFuzzerRunDriver(&argc, &argv) { data, size in
    rpcFuzzOne(size == 0 || data == nil ? [] : Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}
exit(rc)
#else
for path in CommandLine.arguments.dropFirst() {
    let data = try Data(contentsOf: URL(fileURLWithPath: path))
    rpcFuzzOne(Array(data))
    print("ok \(path)")
}
#endif
