/// One message as the THREAD algorithms see it.
public struct ThreadMessage: Sendable, Hashable {
    /// What the response names it by: its sequence number or UID (never 0).
    public var number: UInt32
    /// The sent date (RFC 5256 §2.2: the Date: header, else the internal date), seconds since 1970.
    public var sentDate: Int64
    /// The casemapped base subject and whether extracting it found a reply or forward.
    public var subject: [UInt8]
    public var isReplyOrForward: Bool
    public var messageID: String?
    /// References, or the first In-Reply-To id (`MessageSortFacts.references`).
    public var references: [String]

    public init(number: UInt32, sentDate: Int64, subject: [UInt8], isReplyOrForward: Bool, messageID: String?, references: [String]) {
        self.number = number; self.sentDate = sentDate; self.subject = subject; self.isReplyOrForward = isReplyOrForward
        self.messageID = messageID; self.references = references
    }
}

/// THREAD's answer: trees of message numbers, dummies (0) for messages the threads refer to but
/// the folder (or the search) does not have. Kept flat (indices, not nested values) so that a
/// chain of 100,000 replies is neither built nor freed nor encoded by recursion.
public struct ThreadForest: Sendable, Hashable {
    /// Message number per node; 0 for a dummy.
    public var numbers: [UInt32] = []
    public var children: [[Int]] = []
    public var roots: [Int] = []

    public init() {}

    /// Adds a node and returns its index.
    public mutating func add(_ number: UInt32, children: [Int] = []) -> Int {
        numbers.append(number); self.children.append(children)
        return numbers.count - 1
    }

    /// The forest as nested arrays, for tests: `[1, [2, 3]]`-like `Tree` values.
    public var trees: [Tree] {
        func tree(_ i: Int) -> Tree { Tree(numbers[i], children[i].map(tree)) }
        return roots.map(tree)
    }

    /// A node for tests (number 0: a dummy).
    public struct Tree: Sendable, Hashable, CustomStringConvertible {
        public var number: UInt32
        public var children: [Tree]
        public init(_ number: UInt32, _ children: [Tree] = []) { self.number = number; self.children = children }
        public var description: String { number == 0 ? "\(children)" : children.isEmpty ? "\(number)" : "\(number)\(children)" }
    }
}

/// The THREAD algorithms of RFC 5256 §3, pure. Input in sequence order (the order breaks ties).
public enum MessageThreading {
    // MARK: ORDEREDSUBJECT

    /// Sorted by base subject then sent date, split into threads by base subject; each thread's
    /// first message is its root and the others its children; threads in the order of their
    /// first message's sent date.
    public static func orderedSubject(_ messages: [ThreadMessage]) -> ThreadForest {
        let order = messages.indices.sorted { a, b in
            let x = messages[a], y = messages[b]
            if x.subject != y.subject { return x.subject.lexicographicallyPrecedes(y.subject) }
            if x.sentDate != y.sentDate { return x.sentDate < y.sentDate }
            return a < b
        }
        var threads: [[Int]] = []
        for i in order {
            if let last = threads.last?.first, messages[last].subject == messages[i].subject {
                threads[threads.count - 1].append(i)
            } else {
                threads.append([i])
            }
        }
        threads.sort { a, b in
            let x = messages[a[0]].sentDate, y = messages[b[0]].sentDate
            return x != y ? x < y : a[0] < b[0]
        }
        var forest = ThreadForest()
        for thread in threads {
            let kids = thread.dropFirst().map { forest.add(messages[$0].number) }
            forest.roots.append(forest.add(messages[thread[0]].number, children: kids))
        }
        return forest
    }

    // MARK: REFERENCES

    /// The REFERENCES algorithm (RFC 5256 §3), steps as numbered there.
    public static func references(_ messages: [ThreadMessage]) -> ThreadForest {
        var t = Containers(messages)
        t.link()            // (1)
        t.gatherRoots()     // (2)
        t.prune()           // (3)
        t.sortRoots()       // (4)
        t.groupBySubject()  // (5)
        t.sortAll()         // (6)
        return t.forest()
    }

    /// The message containers of the REFERENCES algorithm: a message or a dummy (`message < 0`).
    struct Containers {
        let messages: [ThreadMessage]
        var message: [Int] = []
        var parent: [Int] = []
        var children: [[Int]] = []
        var byID: [String: Int] = [:]
        var roots: [Int] = []

        init(_ messages: [ThreadMessage]) { self.messages = messages }

        mutating func new(_ m: Int) -> Int {
            message.append(m); parent.append(-1); children.append([])
            return message.count - 1
        }

        /// The container with this Message-ID, a new dummy if there is none.
        mutating func container(_ id: String) -> Int {
            if let c = byID[id] { return c }
            let c = new(-1)
            byID[id] = c
            return c
        }

        /// Whether `a` is `b` or one of its descendants (walking up from `a`).
        func isSelfOrDescendant(_ a: Int, of b: Int) -> Bool {
            if a == b { return true }
            if children[b].isEmpty { return false }
            var p = parent[a]
            while p >= 0 {
                if p == b { return true }
                p = parent[p]
            }
            return false
        }

        mutating func unlink(_ c: Int) {
            let p = parent[c]
            guard p >= 0 else { return }
            if let k = children[p].lastIndex(of: c) { children[p].remove(at: k) }
            parent[c] = -1
        }

        mutating func setParent(_ c: Int, _ p: Int) {
            parent[c] = p; children[p].append(c)
        }

        // (1) Message-IDs, References and In-Reply-To to parent/child links.
        mutating func link() {
            for (i, m) in messages.enumerated() {
                // (A) A missing, invalid or duplicate Message-ID: the message gets a unique one.
                let current: Int
                if let id = m.messageID, let c = byID[id], message[c] < 0 {
                    message[c] = i; current = c
                } else if let id = m.messageID, byID[id] == nil {
                    current = new(i); byID[id] = current
                } else {
                    current = new(i)
                }
                var previous: Int?
                for ref in m.references {
                    let c = container(ref)
                    // A message that has a parent keeps it (References may be truncated); no loops.
                    if let p = previous, parent[c] < 0, !isSelfOrDescendant(p, of: c) { setParent(c, p) }
                    previous = c
                }
                // (B) The last reference is the parent: it replaces any parent found so far. Without
                // references the message has no parent.
                if let p = previous {
                    if parent[current] != p, !isSelfOrDescendant(p, of: current) {
                        unlink(current); setParent(current, p)
                    }
                } else {
                    unlink(current)
                }
            }
        }

        // (2) Every container without a parent is a root (in the order they were made).
        mutating func gatherRoots() {
            roots = parent.indices.filter { parent[$0] < 0 }
        }

        /// The containers below `tops`, every parent before its children.
        func preorder(_ tops: [Int]) -> [Int] {
            var out: [Int] = [], stack = tops.reversed() as [Int]
            while let c = stack.popLast() {
                out.append(c)
                stack.append(contentsOf: children[c].reversed())
            }
            return out
        }

        // (3) Dummies without children go; a dummy's children take its place, except at the root
        // level when it has more than one.
        mutating func prune() {
            for c in preorder(roots).reversed() {   // children before their parent
                var kept: [Int] = []
                for k in children[c] {
                    if message[k] >= 0 { kept.append(k); continue }
                    for g in children[k] { parent[g] = c; kept.append(g) }
                    children[k] = []; parent[k] = -1
                }
                children[c] = kept
            }
            var top: [Int] = []
            for r in roots {
                if message[r] >= 0 || children[r].count > 1 { top.append(r); continue }
                for g in children[r] { parent[g] = -1; top.append(g) }
                children[r] = []
            }
            roots = top
        }

        /// The message a container stands for in date order: itself, or a dummy's first child's.
        func representative(_ c: Int) -> Int {
            var c = c
            while message[c] < 0, let first = children[c].first { c = first }
            return message[c]
        }

        func precedes(_ a: Int, _ b: Int) -> Bool {
            let x = representative(a), y = representative(b)
            if x < 0 || y < 0 { return x < y }
            let dx = messages[x].sentDate, dy = messages[y].sentDate
            return dx != dy ? dx < dy : x < y
        }

        // (4) The roots by sent date (a dummy by its earliest child's).
        mutating func sortRoots() {
            // sorted(), then assigned: sorting in place would copy every list (the comparison reads self).
            for r in roots where message[r] < 0 { children[r] = children[r].sorted(by: precedes) }
            roots = roots.sorted(by: precedes)
        }

        /// A root's subject and whether it is a reply: a dummy's are its first child's.
        func subject(_ c: Int) -> [UInt8] {
            let m = representative(c)
            return m < 0 ? [] : messages[m].subject
        }
        func isReply(_ c: Int) -> Bool { message[c] >= 0 && messages[message[c]].isReplyOrForward }

        // (5) Roots with the same base subject are gathered.
        mutating func groupBySubject() {
            var table: [[UInt8]: Int] = [:]
            for r in roots {
                let s = subject(r)
                guard !s.isEmpty else { continue }
                guard let old = table[s] else { table[s] = r; continue }
                if (message[r] < 0 && message[old] >= 0) || (isReply(old) && message[r] >= 0 && !isReply(r)) { table[s] = r }
            }
            var top = roots
            var position: [Int: Int] = [:]   // where each root is in `top` (a dummy takes its place)
            for (k, r) in roots.enumerated() { position[r] = k }
            var removed = Set<Int>()
            for r in roots {
                let s = subject(r)
                // A root that (iv) just put under a new dummy is done.
                guard parent[r] < 0, !s.isEmpty, let other = table[s], other != r else { continue }
                if message[r] < 0 && message[other] < 0 {
                    for k in children[r] { parent[k] = other; children[other].append(k) }
                    children[r] = []
                    removed.insert(r)
                } else if message[other] < 0 {
                    setParent(r, other); removed.insert(r)
                } else if isReply(r) && !isReply(other) {
                    setParent(r, other); removed.insert(r)
                } else {
                    let dummy = new(-1)
                    if let k = position[other] { top[k] = dummy; position[dummy] = k }
                    setParent(other, dummy); setParent(r, dummy)
                    removed.insert(r)
                    table[s] = dummy
                }
            }
            roots = top.filter { !removed.contains($0) }
        }

        // (6) Every set of siblings by sent date, depth first.
        mutating func sortAll() {
            for c in preorder(roots).reversed() where children[c].count > 1 { children[c] = children[c].sorted(by: precedes) }
            roots = roots.sorted(by: precedes)
        }

        func forest() -> ThreadForest {
            var f = ThreadForest()
            var index: [Int: Int] = [:]
            for c in preorder(roots).reversed() {
                let m = message[c]
                index[c] = f.add(m < 0 ? 0 : messages[m].number, children: children[c].map { index[$0]! })
            }
            f.roots = roots.map { index[$0]! }
            return f
        }
    }
}
