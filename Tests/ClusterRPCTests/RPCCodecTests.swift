import ClusterRPCCore
import Foundation
import MailboxAPI
import MailCore
import Testing

@Suite("Cluster RPC codec")
struct RPCCodecTests {
    let limits = RPCLimits.default

    @Test("a frame encodes and decodes back, every kind")
    func frameRoundTrip() throws {
        for kind in RPCFrame.Kind.allCases {
            let more = kind == .request || kind == .response
            let frame = RPCFrame(kind: kind, id: 0xDEAD_BEEF, method: 0x1234, payload: [1, 2, 3], more: more)
            let bytes = frame.encoded()
            #expect(bytes.count == RPCFrame.headerSize + 3)
            #expect(bytes[0] == RPCFrame.version)
            #expect(try RPCFrame.decode(bytes, limits: limits) == frame)
        }
    }

    @Test("malformed frames are refused with a clear error")
    func malformedFrames() throws {
        let good = RPCFrame(kind: .request, id: 1, method: 20, payload: [9, 9]).encoded()
        func error(_ bytes: [UInt8], _ limits: RPCLimits = .default) -> RPCProtocolError? {
            do { _ = try RPCFrame.decode(bytes, limits: limits); return nil } catch let e as RPCProtocolError { return e } catch { return nil }
        }
        #expect(error(Array(good.prefix(10)))?.detail == "frame shorter than its header")
        var v1 = good; v1[0] = 1  // the version before frames were packed together
        #expect(error(v1)?.code == .unsupportedVersion)
        var kind = good; kind[1] = 99
        #expect(error(kind) != nil)
        var flags = good; flags[2] = 2
        #expect(error(flags) != nil)
        #expect(error(good + [0]) != nil)  // length does not match
        #expect(error(Array(good.dropLast())) != nil)
        #expect(error(good, RPCLimits(maxFramePayload: 1))?.code == .tooLarge)
        var endMore = RPCFrame(kind: .streamEnd, id: 1, method: 20, payload: []).encoded(); endMore[2] = 1
        #expect(error(endMore) != nil)
    }

    @Test("frames packed into messages: in order, within the message size, each frame whole; a cut or empty message is refused")
    func batches() throws {
        let frames = (0 ..< 40).map { RPCFrame(kind: .push, id: UInt32($0), method: 3, payload: Array(repeating: UInt8($0), count: $0 * 10)) }
        let maxMessage = 600
        let messages = RPCFrame.encodeBatch(frames, maxMessage: maxMessage)
        #expect(messages.count > 1)
        #expect(messages.allSatisfy { $0.count <= maxMessage })
        let back = try messages.flatMap { try RPCFrame.decodeBatch($0, limits: limits) }
        #expect(back == frames)
        // A frame larger than the message size goes alone.
        let big = RPCFrame(kind: .response, id: 99, method: 1, payload: Array(repeating: 7, count: 1000))
        let alone = RPCFrame.encodeBatch([frames[1], big, frames[2]], maxMessage: maxMessage)
        #expect(alone.count == 3 && alone[1] == big.encoded())
        // One message of two frames.
        let two = frames[3].encoded() + frames[4].encoded()
        #expect(try RPCFrame.decodeBatch(two, limits: limits) == [frames[3], frames[4]])
        #expect(throws: RPCProtocolError.self) { try RPCFrame.decodeBatch([UInt8](), limits: limits) }
        #expect(throws: RPCProtocolError.self) { try RPCFrame.decodeBatch(Array(two.dropLast()), limits: limits) }
        #expect(throws: RPCProtocolError.self) { try RPCFrame.decodeBatch(two + [2, 6], limits: limits) }
        var old = two; old[frames[3].encoded().count] = 1  // the second frame in version 1
        #expect((try? RPCFrame.decodeBatch(old, limits: limits)) == nil)
    }

    @Test("a large body travels as chunks, never one frame, and is put back together")
    func largeBodyChunks() throws {
        let payload = (0 ..< 3_000_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let frames = RPCFrame.frames(kind: .request, id: 5, method: RPCMethod.append.rawValue, payload: payload, chunkSize: limits.chunkSize)
        #expect(frames.count == (payload.count + limits.chunkSize - 1) / limits.chunkSize)
        #expect(frames.allSatisfy { $0.payload.count <= limits.chunkSize })
        #expect(frames.first?.more == true && frames.last?.kind == .streamEnd)
        var assembler = RPCAssembler(limits: limits)
        var whole: RPCMessage?
        // Interleaved with another request on the same connection.
        #expect(try assembler.add(RPCFrame(kind: .request, id: 6, method: 1)) == RPCMessage(kind: .request, id: 6, method: 1, payload: []))
        for f in frames {
            let wire = try RPCFrame.decode(f.encoded(), limits: limits)
            if let m = try assembler.add(wire) { whole = m }
        }
        #expect(whole?.payload == payload)
        #expect(whole?.method == RPCMethod.append.rawValue && whole?.kind == .request)
        #expect(assembler.assembling == 0)
    }

    @Test("assembly limits: message size, messages at once, pieces without a start, a reused id")
    func assemblyLimits() throws {
        var small = RPCAssembler(limits: RPCLimits(maxMessageBytes: 10, maxAssembling: 1))
        _ = try small.add(RPCFrame(kind: .request, id: 1, payload: [0, 0, 0, 0, 0, 0], more: true))
        #expect(throws: RPCProtocolError.self) { try small.add(RPCFrame(kind: .streamChunk, id: 1, payload: [0, 0, 0, 0, 0])) }
        #expect(small.assembling == 0)
        _ = try small.add(RPCFrame(kind: .request, id: 2, payload: [1], more: true))
        #expect(throws: RPCProtocolError.self) { try small.add(RPCFrame(kind: .request, id: 3, payload: [1], more: true)) }
        #expect(throws: RPCProtocolError.self) { try small.add(RPCFrame(kind: .request, id: 2, payload: [1])) }
        #expect(throws: RPCProtocolError.self) { try small.add(RPCFrame(kind: .streamEnd, id: 9, payload: [1])) }
        // A cancel drops what was gathered for its id.
        #expect(try small.add(RPCFrame(kind: .cancel, id: 2))?.kind == .cancel)
        #expect(small.assembling == 0)
    }

    @Test("the mailbox seam's values read back as written")
    func valuesRoundTrip() throws {
        let record = MessageRecord(uid: 7, modSeq: 42, flags: [.seen, .flagged], keywords: ["$Junk", "work"],
                                   internalDate: Date(timeIntervalSince1970: 1_700_000_000), size: 1234,
                                   sentDate: Date(timeIntervalSince1970: 1_600_000_000), subject: "héllo", from: "a@b.c", messageID: "<x@y>",
                                   threadID: 3, saveDate: nil, emailID: 99)
        let folder = FolderInfo(id: 4, path: "Archive/2024", specialUse: .archive, subscribed: true, uidValidity: 17, uidNext: 8,
                                highestModSeq: 77, recentUID: 5)
        let change = MailboxChange(folder: "INBOX", kind: .folderRenamed(to: "Old"), modSeq: 12, origin: UUID())
        let revoked = MailboxChange(folder: "", kind: .passwordRevoked(passwordID: "p1"), modSeq: 0, origin: nil)
        let inbound = InboundMailbox(mailboxID: "m1", publicKey: [1, 2, 3],
                                     delivery: InboundDelivery(folder: "Lists", flags: ["\\Seen"], create: true, aliasID: "a", script: "s"),
                                     message: [65, 66])
        var job = OutboundJob(kind: .webhook, sender: "s@x", originalSender: "o@x", recipients: ["r@y"], target: "https://h/",
                              context: ["ip": "1.2.3.4", "helo": "h"], message: Array("body".utf8), created: Date(timeIntervalSince1970: 1000))
        job.id = 5; job.attempts = 2; job.lastError = "timeout"
        var w = RPCWriter()
        w.record(record); w.folderInfo(folder); w.change(change); w.change(revoked); w.inboundMailbox(inbound); w.outboundJob(job)
        w.uidSet(UIDSet([1 ... 3, 9 ... 9, 20 ... UID.max])); w.optionalUIDSet(nil)
        w.copyResult(CopyResult(uidValidity: 3, mapping: [(1, 10), (2, 11)]))
        w.deliveryOutcome(.queued(seq: 8, delivered: true)); w.deliveryOutcome(.notStored)
        w.mailStoreError(MailStoreError(.overQuota, "full"))
        var r = RPCReader(w.bytes, limits: limits)
        #expect(try r.record() == record)
        #expect(try r.folderInfo() == folder)
        #expect(try r.change() == change)
        #expect(try r.change() == revoked)
        #expect(try r.inboundMailbox() == inbound)
        let back = try r.outboundJob()
        #expect(back == job)
        #expect(try r.uidSet() == UIDSet([1 ... 3, 9 ... 9, 20 ... UID.max]))
        #expect(try r.optionalUIDSet() == nil)
        #expect(try r.copyResult() == CopyResult(uidValidity: 3, mapping: [(1, 10), (2, 11)]))
        #expect(try r.deliveryOutcome() == .queued(seq: 8, delivered: true))
        #expect(try r.deliveryOutcome() == .notStored)
        #expect(try r.mailStoreError() == MailStoreError(.overQuota, "full"))
        try r.finish()
    }

    @Test("readers check every count and length before allocating")
    func readerLimits() throws {
        // A list claiming four billion elements in a few bytes.
        var r = RPCReader([0xFF, 0xFF, 0xFF, 0xFF, 0, 0], limits: limits)
        #expect(throws: RPCProtocolError.self) { try r.uids() }
        var s = RPCReader([0, 0, 0, 10, 65], limits: limits)
        #expect(throws: RPCProtocolError.self) { try s.string() }
        var long = RPCWriter()
        long.string(String(repeating: "x", count: 100))
        var t = RPCReader(long.bytes, limits: RPCLimits(maxStringBytes: 99))
        #expect(throws: RPCProtocolError.self) { try t.string() }
        var bad = RPCReader([0, 0, 0, 2, 0xC3, 0x28], limits: limits)
        #expect(throws: RPCProtocolError.self) { try bad.string() }
        var upside = RPCWriter()
        upside.count(1); upside.u32(5); upside.u32(4)
        var u = RPCReader(upside.bytes, limits: limits)
        #expect(throws: RPCProtocolError.self) { try u.uidSet() }
        var nan = RPCWriter()
        nan.u64(Double.nan.bitPattern)
        var n = RPCReader(nan.bytes, limits: limits)
        #expect(throws: RPCProtocolError.self) { try n.date() }
        let trailing = RPCReader([1], limits: limits)
        #expect(throws: RPCProtocolError.self) { try trailing.finish() }
    }

    @Test("every store error kind crosses as itself; the protocol's own become unavailable or closed")
    func errorKinds() throws {
        let codes: [MailStoreError.Code] = [.authenticationFailed, .noSuchFolder, .folderExists, .invalidFolderName, .cannotDeleteInbox,
                                            .overQuota, .noMailbox, .notStored, .messageTooLarge, .mailboxClosed, .lastPassword,
                                            .noSuchPassword, .noSuchMessage, .insufficientStorage, .unavailable]
        for code in codes {
            let payload = RPCErrorPayload(code: RPCErrorCode(code), detail: "d").encoded()
            let back = try RPCErrorPayload.decode(payload, limits: limits)
            #expect(back.code.error(detail: back.detail) == MailStoreError(code, "d"))
        }
        #expect(RPCErrorCode.noSuchHandle.error(detail: "x").code == .mailboxClosed)
        #expect(RPCErrorCode.internalError.error(detail: "x").code == .unavailable)
        #expect(RPCErrorCode.busy.error(detail: "x").code == .unavailable)
    }
}
