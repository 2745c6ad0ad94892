import PostgresDirectory

extension PostgresDirectory.Configuration {
    /// The tests' configuration: the node's bounds (30 s a call, 60 s to start) are for a server
    /// that is not shared; the whole suite runs hundreds of tests on two cores, where a directory
    /// call can wait longer than that for a thread. Behaviour, not timing, is what they test.
    init(testURL url: PostgresURL) {
        self.init(url: url)
        operationTimeout = .seconds(600)
        startTimeout = .seconds(600)
    }
}

extension PostgresDirectory {
    /// `connect(url:)` with the tests' bounds.
    static func connect(testURL url: String) async throws -> PostgresDirectory {
        try await connect(Configuration(testURL: try PostgresURL(url)))
    }
}
