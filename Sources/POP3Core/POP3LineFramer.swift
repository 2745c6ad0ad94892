/// One unit of client input: a command line (or a SASL response line) without its line ending,
/// or the notice that a line was too long (its bytes were discarded up to the next LF).
public enum POP3Frame: Sendable, Equatable {
    case line([UInt8])
    case lineTooLong
}

/// Splits the client's bytes into lines. A line ends at LF (CRLF or a bare LF; a CR before the LF
/// is dropped); a line longer than `maxLineLength` becomes one `.lineTooLong` frame and the rest
/// of it is skipped without buffering, so memory stays bounded whatever the input.
public struct POP3LineFramer: Sendable {
    public let limits: POP3Limits
    private var buffer: [UInt8] = []
    private var discarding = false
    private var frames: [POP3Frame] = []
    private var head = 0

    public init(limits: POP3Limits = POP3Limits()) { self.limits = limits }

    /// Bytes held that are not part of any frame yet.
    public var bufferedByteCount: Int { buffer.count }

    /// Adds bytes from the connection; complete lines become frames for `next()`.
    public mutating func append<Bytes: Sequence>(_ bytes: Bytes) where Bytes.Element == UInt8 {
        for byte in bytes {
            if byte == 0x0A {
                if discarding {
                    discarding = false
                } else {
                    if buffer.last == 0x0D { buffer.removeLast() }
                    frames.append(.line(buffer))
                }
                buffer.removeAll(keepingCapacity: true)
                continue
            }
            if discarding { continue }
            buffer.append(byte)
            if buffer.count >= limits.maxLineLength {
                frames.append(.lineTooLong)
                buffer.removeAll(keepingCapacity: false)
                discarding = true
            }
        }
    }

    /// The next complete frame, if any.
    public mutating func next() -> POP3Frame? {
        guard head < frames.count else {
            if !frames.isEmpty { frames.removeAll(keepingCapacity: true); head = 0 }
            return nil
        }
        defer { head += 1 }
        return frames[head]
    }
}
