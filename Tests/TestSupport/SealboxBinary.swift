import Foundation

/// The `sealbox` executable the tests run: `SEALBOX_BIN`, else the one built beside the test
/// bundle, else `.build/debug/sealbox` under the package root (`swift test` from the root).
public enum SealboxBinary {
    public static let path: String = {
        if let explicit = ProcessInfo.processInfo.environment["SEALBOX_BIN"] { return explicit }
        let here = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for candidate in [here, here.deletingLastPathComponent()] {
            let path = candidate.appendingPathComponent("sealbox").path
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent(".build/debug/sealbox").path
    }()
}
