import NIOCore

extension IMAPResponseEncoder {
    // thread-data    = "THREAD" [SP 1*thread-list]
    // thread-list    = "(" (thread-members / thread-nested) ")"
    // thread-members = nz-number *(SP nz-number) [SP thread-nested]
    // thread-nested  = 2*thread-list
    /// The thread lists of `forest` (RFC 5256 §4): a chain of only children is one list of
    /// numbers, `(1 2 3)`; a node with several children nests one list per child, `(1 (2)(3 4))`; a
    /// dummy writes no number, `((2)(3))`. Iterative: the depth of a thread costs no stack.
    static func writeThreads(_ forest: ThreadForest, into b: inout ByteBuffer) {
        enum Item { case text(StaticString), node(Int, space: Bool) }
        var stack: [Item] = []
        for root in forest.roots.reversed() { stack += [.text(")"), .node(root, space: false), .text("(")] }
        while let item = stack.popLast() {
            switch item {
            case .text(let s): b.writeStaticString(s)
            case .node(var c, var space):
                while true {
                    let number = forest.numbers[c]
                    if number != 0 {
                        if space { b.writeStaticString(" ") }
                        b.writeString(String(number))
                        space = true
                    }
                    let kids = forest.children[c]
                    if kids.count == 1 { c = kids[0]; continue }
                    if kids.count > 1 {
                        if space { b.writeStaticString(" ") }
                        for k in kids.reversed() { stack += [.text(")"), .node(k, space: false), .text("(")] }
                    }
                    break
                }
            }
        }
    }

    /// A SORT result as ESORT's ALL (RFC 5267 §3.2): in sort order, ascending runs as ranges.
    public static func sortedSet(_ numbers: [UInt32]) -> String {
        var parts: [String] = []
        var i = 0
        while i < numbers.count {
            var j = i
            while j + 1 < numbers.count, numbers[j + 1] == numbers[j] &+ 1 { j += 1 }
            parts.append(j > i ? "\(numbers[i]):\(numbers[j])" : "\(numbers[i])")
            i = j + 1
        }
        return parts.joined(separator: ",")
    }
}
