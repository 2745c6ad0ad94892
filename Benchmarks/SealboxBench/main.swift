import Foundation

// sealbox-bench: benchmarks that print figures (never timed tests).
//   swift run -c release SealboxBench store [--messages N]
//   swift run -c release SealboxBench mime [--corpus DIR]


let args = Array(CommandLine.arguments.dropFirst())
switch args.first {
case "mime": try await mimeBenchmark(arguments: Array(args.dropFirst()))
case "store": try await storeBenchmark(arguments: Array(args.dropFirst()))
default:
    FileHandle.standardError.write(Data("usage: SealboxBench store|mime [options]\n".utf8))
    exit(2)
}
