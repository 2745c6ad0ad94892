import Crypto
import Directory
import Foundation
import Sieve
import Synchronization

/// An alias's active Sieve script, ready to run over a message.
public struct SieveFilterScript: Sendable {
    /// The script's name (what the error log shows).
    public var name: String
    /// Whether it may test `duplicate` (RFC 7352): then its memories are read before the run.
    public var usesDuplicate: Bool
    public var run: @Sendable (SieveRunContext) -> SieveResult

    public init(name: String, usesDuplicate: Bool, run: @escaping @Sendable (SieveRunContext) -> SieveResult) {
        self.name = name; self.usesDuplicate = usesDuplicate; self.run = run
    }
}

/// The script of an alias is active but does not compile (the compiler changed since it was
/// stored, or an included script went away): the message is kept, and this is logged for the user.
public struct SieveFilterFailure: Error, Sendable {
    public var script: String
    public var message: String
    public init(script: String, message: String) { self.script = script; self.message = message }
}

/// Where the MX finds the script to run for an alias. `DirectorySieveFilter` is the node's; tests
/// give their own (a fixed result) to exercise delivery without the compiler.
public protocol SieveFiltering: Sendable {
    /// The alias's active script, compiled; nil when it has none. Throws `SieveFilterFailure`.
    func activeScript(aliasID: String) async throws -> SieveFilterScript?
}

/// The node's scripts: the active script of the alias from the directory, its `include`s
/// resolved from the alias's other scripts (read before compiling: the compiler asks
/// synchronously), compiled once and cached by alias and content (the hash of every script text
/// it was compiled from), so that an edit through ManageSieve takes effect on the next message.
public final class DirectorySieveFilter: SieveFiltering {
    let directory: any MailDirectory
    let options: SieveCompileOptions
    /// alias id → (content hash, compiled script).
    private let cache = Mutex<[String: (key: [UInt8], script: SieveFilterScript)]>([:])
    /// Aliases whose compiled script is kept (a bound: a node with more active scripts compiles again).
    static let maxCached = 2_000

    public init(directory: any MailDirectory, limits: SieveLimits = .default) {
        self.directory = directory
        var options = SieveCompileOptions()
        options.limits = limits
        self.options = options
    }

    public func activeScript(aliasID: String) async throws -> SieveFilterScript? {
        guard let active = try await directory.activeSieveScript(aliasID: aliasID) else {
            cache.withLock { _ = $0.removeValue(forKey: aliasID) }
            return nil
        }
        // Only a script that may include another needs the others (at most 32, 4 MiB together).
        var others: [String: String] = [:]
        if active.content.contains("include") {
            for record in try await directory.sieveScripts(aliasID: aliasID) where record.name != active.name {
                others[record.name] = record.content
            }
        }
        var hash = SHA256()
        for (name, content) in [(active.name, active.content)] + others.sorted(by: { $0.key < $1.key }) {
            hash.update(data: Array("\(name.utf8.count):\(name)\(content.utf8.count):".utf8))
            hash.update(data: Array(content.utf8))
        }
        let key = Array(hash.finalize())
        if let cached = cache.withLock({ $0[aliasID] }), cached.key == key { return cached.script }
        var options = self.options
        let includable = others
        options.includeLoader = { name, location in location == .personal ? includable[name] : nil }
        let compiled: SieveScript
        do {
            compiled = try SieveScript.compile(active.content, name: active.name, options: options)
        } catch {
            throw SieveFilterFailure(script: active.name, message: error.errors.first?.description ?? error.description)
        }
        let script = SieveFilterScript(name: active.name, usesDuplicate: ([active.content] + others.values).contains { $0.contains("duplicate") },
                                       run: { compiled.run($0) })
        cache.withLock { entries in
            if entries.count >= Self.maxCached, entries[aliasID] == nil, let any = entries.keys.first { entries.removeValue(forKey: any) }
            entries[aliasID] = (key, script)
        }
        return script
    }
}
