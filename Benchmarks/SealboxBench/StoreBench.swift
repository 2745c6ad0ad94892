func storeBenchmark(arguments: [String]) async throws { print("store benchmark: not yet") }
