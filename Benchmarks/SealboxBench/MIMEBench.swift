func mimeBenchmark(arguments: [String]) async throws { print("mime benchmark: not yet") }
