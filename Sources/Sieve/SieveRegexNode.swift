/// A regular expression's syntax tree.
indirect enum SieveRegexNode: Sendable {
    case empty
    case char(Unicode.Scalar)
    case any
    case set(SieveRegexCharSet)
    case concat([SieveRegexNode])
    case alternation([SieveRegexNode])
    case repetition(SieveRegexNode, min: Int, max: Int?)
    case group(SieveRegexNode, Int)
    case lineStart, lineEnd
}
