import Foundation
import HTTPServer
import MailboxAPI
import MIMEParser
import Sieve

/// The owner's search: full-text through the mailbox's index (as IMAP SEARCH TEXT), or a POSIX
/// extended regular expression over each message's decoded header, subject, addresses and body,
/// run by Sieve's bounded matcher. Newest first within each folder, folders in path order; a
/// page ends at `limit` results or at the search's budget (time, bytes read, matcher steps).
extension NodeHTTPBackend {
    /// What one search request may spend before it answers with what it found so far.
    public struct SearchBudget: Sendable {
        public var time: Duration = .seconds(3)
        public var bytes = 256 << 20
        /// Steps of the regular-expression automaton, over all messages of the request.
        public var regexSteps = 20_000_000
        /// Messages larger than this are not read by a scan (their header still is by full-text).
        public var maxMessageBytes = 32 << 20
        public init() {}
    }

    /// The cursor: folder index and the exclusive upper bound of the UIDs still to look at.
    struct SearchCursor {
        var folder: Int
        var below: UInt32
        init(folder: Int, below: UInt32) { self.folder = folder; self.below = below }
        init?(_ text: String?) {
            guard let text else { self.init(folder: 0, below: .max); return }
            let parts = text.split(separator: ".")
            guard parts.count == 2, let f = Int(parts[0]), f >= 0, f < 100_000, let b = UInt32(parts[1]) else { return nil }
            self.init(folder: f, below: b)
        }
        var text: String { "\(folder).\(below)" }
    }

    public func search(_ login: OwnerLogin, _ query: APISearchQuery) async throws -> APISearchPage {
        try await run {
            let session = try session(login)
            guard !query.query.isEmpty, query.query.utf8.count <= APISearchQuery.maxQueryBytes else {
                throw HTTPBackendError(.invalid, "the query must be 1 to \(APISearchQuery.maxQueryBytes) bytes")
            }
            guard (1...APISearchQuery.maxLimit).contains(query.limit) else {
                throw HTTPBackendError(.invalid, "limit must be 1 to \(APISearchQuery.maxLimit)")
            }
            guard let cursor = SearchCursor(query.cursor) else { throw HTTPBackendError(.invalid, "not a cursor of this search") }
            var folders = try await session.folders().map(\.path)
            if let folder = query.folder {
                guard folders.contains(folder) else { throw HTTPBackendError(.notFound, "no such folder: \(folder)") }
                folders = [folder]
            }
            let matcher: Matcher
            switch query.mode {
            case .regex:
                do {
                    matcher = .regex(try BoundedRegex(query.query, caseInsensitive: query.caseInsensitive, maxPatternBytes: APISearchQuery.maxQueryBytes))
                } catch let error as BoundedRegex.CompileError {
                    throw HTTPBackendError(.invalid, "the regular expression is not valid: \(error.description)")
                }
            case .text:
                matcher = .text(query.caseInsensitive ? query.query.lowercased() : query.query, caseInsensitive: query.caseInsensitive)
            }
            return try await runSearch(session: session, folders: folders, cursor: cursor, query: query, matcher: matcher, budget: searchBudget)
        }
    }

    enum Matcher {
        case text(String, caseInsensitive: Bool)
        case regex(BoundedRegex)
    }

    func runSearch(session: any MailboxSession, folders: [String], cursor start: SearchCursor, query: APISearchQuery, matcher: Matcher,
                   budget: SearchBudget) async throws -> APISearchPage {
        let deadline = ContinuousClock.now + budget.time
        var bytesLeft = budget.bytes
        var stepsLeft = budget.regexSteps
        var hits: [(folder: String, uid: UID)] = []
        var lastHitFolder = start.folder
        var examined = 0
        var next: SearchCursor?
        var exhausted = false
        var folderIndex = start.folder
        search: while folderIndex < folders.count {
            let folder = folders[folderIndex]
            let below = folderIndex == start.folder ? start.below : .max
            // Full-text: the index narrows (and confirms) the candidates; a needle under three
            // characters, and regular expressions, scan the messages.
            var indexed: Set<UID>?
            if case .text(let needle, _) = matcher, let uids = try await session.fullTextSearch(in: folder, text: needle, field: .any) {
                indexed = Set(uids)
            }
            let states = try await session.messageStates(in: folder, uids: nil, changedSince: nil)
                .filter { $0.uid < below && (indexed?.contains($0.uid) ?? true) }
                .sorted { $0.uid > $1.uid }
            for state in states {
                if hits.count == query.limit {
                    next = SearchCursor(folder: lastHitFolder, below: hits.last!.uid)
                    break search
                }
                examined += 1
                if indexed != nil {
                    hits.append((folder, state.uid))
                    lastHitFolder = folderIndex
                    continue
                }
                if ContinuousClock.now > deadline || bytesLeft <= 0 {
                    next = SearchCursor(folder: folderIndex, below: state.uid + 1)
                    exhausted = true
                    break search
                }
                guard state.size <= budget.maxMessageBytes, let bytes = try await session.messageBytes(in: folder, uid: state.uid) else { continue }
                bytesLeft -= bytes.count
                let fields = Self.searchFields(bytes)
                switch matcher {
                case .text(let needle, let caseInsensitive):
                    if fields.contains(where: { (caseInsensitive ? $0.lowercased() : $0).contains(needle) }) {
                        hits.append((folder, state.uid))
                        lastHitFolder = folderIndex
                    }
                case .regex(let regex):
                    let before = stepsLeft
                    do {
                        var matched = false
                        for field in fields where !matched { matched = try regex.matches(field, stepBudget: &stepsLeft) }
                        if matched {
                            hits.append((folder, state.uid))
                            lastHitFolder = folderIndex
                        }
                    } catch {
                        // One message alone spent the whole budget: the pattern is too costly.
                        if before == budget.regexSteps {
                            throw HTTPBackendError(.limitExceeded,
                                                   "the regular expression is too costly to run (over \(budget.regexSteps) matcher steps on one message); simplify it")
                        }
                        next = SearchCursor(folder: folderIndex, below: state.uid + 1)
                        exhausted = true
                        break search
                    }
                }
            }
            folderIndex += 1
        }
        // The page's records (subject, from, date) in one read per folder.
        var results: [APISearchHit] = []
        var byFolder: [String: [UID]] = [:]
        for hit in hits { byFolder[hit.folder, default: []].append(hit.uid) }
        var records: [String: [UID: MessageRecord]] = [:]
        for (folder, uids) in byFolder {
            let list = try await session.messages(in: folder, uids: UIDSet(uids), changedSince: nil)
            records[folder] = Dictionary(list.map { ($0.uid, $0) }, uniquingKeysWith: { a, _ in a })
        }
        for hit in hits {
            guard let r = records[hit.folder]?[hit.uid] else { continue }
            results.append(APISearchHit(uid: hit.uid, folder: hit.folder, subject: r.subject, from: r.from, date: r.sentDate ?? r.internalDate,
                                        size: r.size))
        }
        return APISearchPage(results: results, next: next?.text, examined: examined, budgetExhausted: exhausted)
    }

    /// What a scan matches: the header block (RFC 2047 words decoded), the subject, the
    /// addresses, the decoded text of the body parts and the attachments' names.
    static func searchFields(_ bytes: [UInt8]) -> [String] {
        let header = decodedHeader(SubmissionHeaderFacts.headerBlock(bytes))
        let text = MIMEMessage.parse(bytes).searchText()
        // Lines end in LF alone, so that `$` matches at a line's end.
        return [header, text.subject, text.addresses, text.body.replacingOccurrences(of: "\r\n", with: "\n")] + text.attachmentNames
    }

    /// The header one field a line (folded lines joined), RFC 2047 words decoded: `^Subject: …`
    /// matches at the start of the field.
    static func decodedHeader(_ block: [UInt8]) -> String {
        var fields: [ArraySlice<UInt8>] = []
        var start = 0
        var i = 0
        while i < block.count {
            if block[i] == 0x0A, i + 1 < block.count, block[i + 1] != 0x20, block[i + 1] != 0x09 {
                fields.append(block[start...i])
                start = i + 1
            }
            i += 1
        }
        if start < block.count { fields.append(block[start...]) }
        return fields.map { RFC2047.decode($0).trimmingCharacters(in: .whitespacesAndNewlines) }.filter { !$0.isEmpty }.joined(separator: "\n")
    }
}
