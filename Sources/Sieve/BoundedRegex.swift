/// A POSIX extended regular expression run by Sieve's bounded matcher (`SieveRegex`: a Pike
/// automaton, no back-references, at most `SieveRegex.maxInstructions` instructions), for other
/// parts of the server that match user-given patterns (the owner API's regex search). A match
/// costs at most (text length × program size) steps and stops with `BudgetExceeded` once the
/// caller's step budget is spent: no pattern can make it take exponential time.
public struct BoundedRegex: Sendable {
    public struct CompileError: Error, Sendable, CustomStringConvertible {
        public let description: String
    }
    public struct BudgetExceeded: Error, Sendable {}

    let regex: SieveRegex

    /// `maxPatternBytes`: the longest pattern accepted.
    /// Throws `CompileError` for a pattern that is not valid (or too long).
    public init(_ pattern: String, caseInsensitive: Bool, maxPatternBytes: Int = 1024) throws {
        var limits = SieveLimits()
        limits.maxRegexPatternBytes = maxPatternBytes
        do {
            regex = try SieveRegex(pattern, caseInsensitive: caseInsensitive, limits: limits)
        } catch {  // typed: SieveRegex.CompileError
            throw CompileError(description: error.message)
        }
    }

    /// Whether the pattern matches anywhere in `text`; spends `stepBudget` (automaton steps).
    /// Throws `BudgetExceeded` once `stepBudget` is spent.
    public func matches(_ text: String, stepBudget: inout Int) throws -> Bool {
        do {
            return try regex.firstMatch(in: text, stepBudget: &stepBudget) != nil
        } catch {  // typed: SieveRegex.BudgetExceeded
            throw BudgetExceeded()
        }
    }
}
