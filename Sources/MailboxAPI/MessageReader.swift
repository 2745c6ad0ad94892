/// A message's bytes read piece by piece (FETCH of a large message in bounded memory). The
/// pieces add up to `size` bytes; `read()` returns nil after the last one.
public struct MessageReader: Sendable {
    public let size: Int
    private let nextPiece: @Sendable () async throws -> [UInt8]?

    public init(size: Int, next: @escaping @Sendable () async throws -> [UInt8]?) {
        self.size = size
        self.nextPiece = next
    }

    /// The next piece, nil at the end.
    public func read() async throws -> [UInt8]? { try await nextPiece() }
}
