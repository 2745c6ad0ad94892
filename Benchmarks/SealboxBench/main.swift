import Foundation

// sealbox-bench: benchmarks that print figures (never timed tests).
//   swift run -c release SealboxBench store [--messages N]
//   swift run -c release SealboxBench mime [--corpus DIR]
//   swift run -c release SealboxBench imap [--sessions N] [--seconds S] [--messages M] [--users U]
//                                          [--idle-sessions K] [--servers dovecot,sealbox]
//   swift run -c release SealboxBench backup [--megabytes 1024] [--rounds 3] [--concurrency 4] [--no-s3] [--endpoint URL --bucket NAME]
//   swift run -c release SealboxBench dkim [--iterations 2000] [--kilobytes 10]
//   swift run -c release SealboxBench verify [--iterations 500] [--kilobytes 20]
//   swift run -c release SealboxBench auth [--iterations 500] [--kilobytes 20]
//   swift run -c release SealboxBench sieve [--iterations 20000]
//   swift run -c release SealboxBench sieve-delivery [--messages 200] [--kilobytes 20]
//   swift run -c release SealboxBench rpc [--sessions 8] [--seconds 10] [--messages 500]


let args = Array(CommandLine.arguments.dropFirst())
switch args.first {
case "mime": try await mimeBenchmark(arguments: Array(args.dropFirst()))
case "store": try await storeBenchmark(arguments: Array(args.dropFirst()))
case "imap": try await imapBenchmark(arguments: Array(args.dropFirst()))
case "backup": try await backupBenchmark(arguments: Array(args.dropFirst()))
case "dkim": try await dkimBenchmark(arguments: Array(args.dropFirst()))
case "verify": try await dkimVerifyBenchmark(arguments: Array(args.dropFirst()))
case "auth": try await authBenchmark(arguments: Array(args.dropFirst()))
case "sieve": try await sieveBenchmark(arguments: Array(args.dropFirst()))
case "sieve-delivery": try await sieveDeliveryBenchmark(arguments: Array(args.dropFirst()))
case "rpc": try await rpcBenchmark(arguments: Array(args.dropFirst()))
default:
    FileHandle.standardError.write(Data("usage: SealboxBench store|mime|imap|backup|dkim|verify|auth|sieve|sieve-delivery|rpc [options]\n".utf8))
    exit(2)
}
