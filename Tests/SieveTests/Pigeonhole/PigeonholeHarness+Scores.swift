import Foundation
@testable import Sieve

/// Pigeonhole reads spamtest/virustest scores from header fields by configuration
/// (`sieve_spamtest_status_header` "Name:regex", `_max_header`/`_max_value`, `_status_type`
/// score/strlen/text, `_text_valueN`). In Sealbox the host passes the scores
/// (`SieveRunContext.spamScore`/`spamPercent`/`virusScore`); this test-only helper computes them
/// the same way from the harness configuration so Pigeonhole's files can drive the language side.
extension PigeonholeHarness {
    func updateScores(_ run: SieveInterpreter) {
        let message = SieveMessage(run.currentMessageBytes)
        let spam = ratio("spamtest", max: 10, message: message)
        let virus = ratio("virustest", max: 5, message: message)
        run.setScores(spam: spam.map { Int($0 * 9 + 1.001) }, spamPercent: spam.map { Int($0 * 100 + 0.001) },
                      virus: virus.map { Int($0 * 4 + 1.001) })
    }

    /// The score ratio 0…1, or nil when the test is not configured or failed ("0").
    private func ratio(_ ext: String, max textMax: Int, message: SieveMessage) -> Double? {
        guard let statusSpec = config["sieve_\(ext)_status_header"], !statusSpec.isEmpty else { return nil }
        let type = config["sieve_\(ext)_status_type"] ?? "score"
        guard let status = extract(statusSpec, from: message) else { return nil }
        var maxValue: Double
        var statusValue: Double
        switch type {
        case "text":
            maxValue = Double(textMax)
            guard let i = (0...textMax).first(where: { config["sieve_\(ext)_text_value\($0)"] == status }) else { return nil }
            statusValue = Double(i)
        default:
            if let spec = config["sieve_\(ext)_max_header"], !spec.isEmpty {
                guard let m = extract(spec, from: message), let v = Double(m) else { return nil }
                maxValue = v
            } else if let v = config["sieve_\(ext)_max_value"].flatMap(Double.init) {
                maxValue = v
            } else { return nil }
            if type == "strlen" {
                guard status.isEmpty || Set(status).count == 1 else { return nil }
                statusValue = Double(status.count)
            } else {
                guard let v = Double(status) else { return nil }
                statusValue = v
            }
        }
        guard maxValue != 0 else { return nil }
        if statusValue < 0 { return 0 }
        if statusValue > maxValue { return 1 }
        return statusValue / maxValue
    }

    /// "Name:regex" → the regex's first group in the first field of that name (or the whole value).
    private func extract(_ spec: String, from message: SieveMessage) -> String? {
        let parts = spec.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
        guard let name = parts.first, let value = message.values(name).first else { return nil }
        guard parts.count == 2, !parts[1].isEmpty else { return value }
        guard let regex = try? SieveRegex(parts[1], caseInsensitive: false, limits: SieveLimits()) else { return nil }
        var budget = 1_000_000
        guard let groups = try? regex.firstMatch(in: value, stepBudget: &budget), groups.count > 1, let g = groups[1] else { return nil }
        return g
    }
}
