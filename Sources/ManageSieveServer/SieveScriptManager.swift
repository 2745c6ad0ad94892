import ManageSieveCore
import Sieve

/// The answer to one script operation: `OK` or `NO`, a response code, and the human text (the
/// compiler's diagnostics, one per line, when a script does not compile or has warnings).
public struct SieveReply: Error, Sendable, Equatable, CustomStringConvertible {
    public var status: ManageSieveResponse.Status
    public var code: ManageSieveResponse.Code?
    public var text: String

    public init(_ status: ManageSieveResponse.Status, _ code: ManageSieveResponse.Code? = nil, _ text: String) {
        self.status = status; self.code = code; self.text = text
    }

    public var isOK: Bool { status == .ok }
    public var description: String { text }

    public func encode(into out: inout [UInt8]) {
        ManageSieveResponse.status(status, code: code, text: text, into: &out)
    }

    static func ok(_ text: String) -> SieveReply { SieveReply(.ok, nil, text) }
    static func no(_ code: ManageSieveResponse.Code? = nil, _ text: String) -> SieveReply { SieveReply(.no, code, text) }
    static func nonexistent(_ name: String) -> SieveReply { .no(.nonexistent, "Sieve script `\(name)' not found") }
    static func invalidName(_ name: String) -> SieveReply { .no(nil, "Invalid Sieve script name `\(name)'.") }
    static let alreadyExists = SieveReply.no(.alreadyExists, "A sieve script with that name already exists.")
}

/// Every script operation as ManageSieve (RFC 5804) defines it, over a `SieveScriptStore`: the
/// one place both the ManageSieve sessions and `sealbox sieve` go through, so each situation gets
/// the same answer (response code and words as Dovecot's managesieved). Scripts are compiled
/// before they are stored or activated; `include` (RFC 6609) sees the owner's other scripts.
public struct SieveScriptManager: Sendable {
    public let store: any SieveScriptStore
    /// What `require` may name (the capability the server announces).
    public var extensions: Set<String>

    public init(store: any SieveScriptStore, extensions: Set<String> = Set(SieveExtensions.supported)) {
        self.store = store; self.extensions = extensions
    }

    /// Lines of diagnostics for a reply: each `line N: error: …` (PUTSCRIPT prefixes the script's
    /// name, as Pigeonhole does), CRLF after each.
    static func diagnosticsText(_ diagnostics: [SieveDiagnostic], name: String?) -> String {
        diagnostics.map { (name.map { "\($0): " } ?? "") + $0.description + "\r\n" }.joined()
    }

    /// Compiles `text`; the reply to give when it does not compile, or nil and its warnings.
    func compile(owner: String, name: String, text: String, prefix: String?) async throws -> (failure: SieveReply?, warnings: [SieveDiagnostic]) {
        // `include` reads the owner's scripts: read them only when the text may include one.
        var scripts: [String: String] = [:]
        if text.contains("include") {
            for entry in try await store.list(owner: owner) where entry.name != name {
                scripts[entry.name] = try await store.script(owner: owner, name: entry.name)
            }
        }
        scripts[name] = text
        let personal = scripts
        let options = SieveCompileOptions(extensions: extensions, includeLoader: { included, location in
            location == .personal ? personal[included] : nil
        })
        do {
            let script = try SieveScript.compile(text, name: name, options: options)
            return (nil, script.warnings)
        } catch {
            return (.no(nil, Self.diagnosticsText(error.diagnostics, name: prefix)), [])
        }
    }

    /// The quota check of HAVESPACE and PUTSCRIPT: nil when a script `name` of `size` bytes fits.
    func quotaProblem(owner: String, name: String, size: Int) async throws -> SieveReply? {
        let quota = store.quota
        if size > quota.maxScriptBytes {
            return .no(.quotaMaxSize, "Script is too large (max \(quota.maxScriptBytes) bytes).")
        }
        let scripts = try await store.list(owner: owner)
        let others = scripts.filter { $0.name != name }
        if others.count == scripts.count, scripts.count + 1 > quota.maxScripts {
            return .no(.quotaMaxScripts, "Script count quota exceeded (max \(quota.maxScripts) scripts).")
        }
        if others.reduce(0, { $0 + $1.size }) + size > quota.maxStorageBytes {
            return .no(.quotaMaxStorage, "Script storage quota exceeded (max \(quota.maxStorageBytes) bytes).")
        }
        return nil
    }

    /// The reply for a store refusal.
    static func reply(_ error: SieveStoreError, name: String) -> SieveReply {
        switch error.code {
        case .noSuchScript: .nonexistent(name)
        case .scriptExists: .alreadyExists
        case .scriptActive: .no(.active, "Cannot delete the active Sieve script.")
        case .invalidName: .invalidName(name)
        case .quota: .no(.quota, "Quota exceeded: \(error.description).")
        }
    }

    // MARK: - Operations

    /// HAVESPACE (§2.5).
    public func haveSpace(owner: String, name: String, size: Int) async throws -> SieveReply {
        if store.nameProblem(name) != nil { return .no(nil, "Invalid script name.") }
        if let problem = try await quotaProblem(owner: owner, name: name, size: size) { return problem }
        return .ok("Putscript would succeed.")
    }

    /// PUTSCRIPT (§2.6): checked, compiled, then stored; warnings come back as `OK (WARNINGS)`.
    public func put(owner: String, name: String, content: [UInt8]) async throws -> SieveReply {
        if store.nameProblem(name) != nil { return .invalidName(name) }
        if let problem = try await quotaProblem(owner: owner, name: name, size: content.count) { return problem }
        guard let text = String(validating: content, as: UTF8.self) else { return .no(nil, "Script is not valid UTF-8.") }
        let (failure, warnings) = try await compile(owner: owner, name: name, text: text, prefix: name)
        if let failure { return failure }
        do {
            try await store.put(owner: owner, name: name, content: text)
        } catch let error as SieveStoreError {
            return Self.reply(error, name: name)
        }
        if !warnings.isEmpty { return SieveReply(.ok, .warnings, Self.diagnosticsText(warnings, name: name)) }
        return .ok("PUTSCRIPT completed.")
    }

    /// CHECKSCRIPT (§2.12): compiled, not stored.
    public func check(owner: String, content: [UInt8]) async throws -> SieveReply {
        guard let text = String(validating: content, as: UTF8.self) else { return .no(nil, "Script is not valid UTF-8.") }
        if content.count > store.quota.maxScriptBytes {
            return .no(.quotaMaxSize, "Script is too large (max \(store.quota.maxScriptBytes) bytes).")
        }
        let (failure, warnings) = try await compile(owner: owner, name: "checkscript", text: text, prefix: nil)
        if let failure { return failure }
        if !warnings.isEmpty { return SieveReply(.ok, .warnings, Self.diagnosticsText(warnings, name: nil)) }
        return .ok("Script checked successfully.")
    }

    /// LISTSCRIPTS (§2.7).
    public func list(owner: String) async throws -> [SieveScriptEntry] {
        try await store.list(owner: owner)
    }

    /// GETSCRIPT (§2.9): the script, or the reply refusing it.
    public func get(owner: String, name: String) async throws -> Result<String, SieveReply> {
        guard let text = try await store.script(owner: owner, name: name) else { return .failure(.nonexistent(name)) }
        return .success(text)
    }

    /// SETACTIVE (§2.8): `""` deactivates. The script is compiled again first (an included
    /// script may have gone since it was stored).
    public func setActive(owner: String, name: String) async throws -> SieveReply {
        let scripts = try await store.list(owner: owner)
        if name.isEmpty {
            guard scripts.contains(where: \.active) else { return .ok("No scripts currently active.") }
            try await store.activate(owner: owner, name: nil)
            return .ok("Active script is now deactivated.")
        }
        guard let entry = scripts.first(where: { $0.name == name }), let text = try await store.script(owner: owner, name: name) else {
            return .nonexistent(name)
        }
        if entry.active { return .ok("Script is already active.") }
        if let failure = try await compile(owner: owner, name: name, text: text, prefix: name).failure { return failure }
        do {
            try await store.activate(owner: owner, name: name)
        } catch let error as SieveStoreError {
            return Self.reply(error, name: name)
        }
        return .ok("Setactive completed.")
    }

    /// DELETESCRIPT (§2.10): never the active script.
    public func delete(owner: String, name: String) async throws -> SieveReply {
        do {
            try await store.delete(owner: owner, name: name)
        } catch let error as SieveStoreError {
            return Self.reply(error, name: name)
        }
        return .ok("Deletescript completed.")
    }

    /// RENAMESCRIPT (§2.11): the active mark moves with the script.
    public func rename(owner: String, from: String, to: String) async throws -> SieveReply {
        guard try await store.script(owner: owner, name: from) != nil else { return .nonexistent(from) }
        if store.nameProblem(to) != nil { return .invalidName(to) }
        if from == to { return .alreadyExists }
        do {
            try await store.rename(owner: owner, from: from, to: to)
        } catch let error as SieveStoreError {
            return Self.reply(error, name: error.code == .noSuchScript ? from : to)
        }
        return .ok("Renamescript completed.")
    }
}
