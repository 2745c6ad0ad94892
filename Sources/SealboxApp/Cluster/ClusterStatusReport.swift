import ClusterRegistry
import Foundation

/// `sealbox cluster status`: the registry's nodes and leases as a table for operators.
public enum ClusterStatusReport {
    public static func lines(nodes: [NodeRecord], placements: [MailboxPlacement], now: Date, leaseSeconds: TimeInterval) -> [String] {
        var owned: [String: Int] = [:], held: [String: Int] = [:]
        var leasesHeld = 0, leasesExpired = 0, released = 0
        for p in placements {
            owned[p.nodeID, default: 0] += 1
            if let lease = p.lease {
                if lease.expires > now { leasesHeld += 1; held[lease.nodeID, default: 0] += 1 } else { leasesExpired += 1 }
            } else {
                released += 1
            }
        }
        let header = ["NODE", "ROLE", "STATE", "HEARD", "RPC", "FREE", "MAILBOXES", "LEASED", "UNLOCKED", "SESSIONS", "QUEUE IN", "QUEUE OUT"]
        var rows = [header]
        for node in nodes {
            let silent = !node.isLive(now: now, window: leaseSeconds) && node.state != .stopped
            let stat = { (key: String) in node.stats[key].map(String.init) ?? "-" }
            rows.append([
                node.name, node.role.rawValue, silent ? "silent" : node.state.rawValue,
                age(now.timeIntervalSince(node.lastHeartbeat)), node.rpcAddress.isEmpty ? "-" : node.rpcAddress,
                node.role.holdsMailboxes ? bytes(node.freeBytes) : "-",
                node.role.holdsMailboxes ? String(owned[node.id] ?? 0) : "-", node.role.holdsMailboxes ? String(held[node.id] ?? 0) : "-",
                stat(NodeStats.unlocked), stat(NodeStats.sessions), stat(NodeStats.queueInbound), stat(NodeStats.queueOutbound),
            ])
        }
        let widths = header.indices.map { i in rows.map { $0[i].count }.max() ?? 0 }
        var out = rows.map { row in row.indices.map { i in row[i].padding(toLength: widths[i], withPad: " ", startingAt: 0) }.joined(separator: "  ")
            .trimmingCharacters(in: .whitespaces) }
        if nodes.isEmpty { out.append("(no node has registered: start one with node.role = storage)") }
        let orphans = Set(owned.keys).subtracting(nodes.map(\.id))
        out.append("mailboxes: \(placements.count) placed; leases: \(leasesHeld) held, \(leasesExpired) expired, \(released) released"
                   + (orphans.isEmpty ? "" : "; on unregistered nodes: \(orphans.sorted().joined(separator: ", "))"))
        return out
    }

    static func age(_ seconds: TimeInterval) -> String {
        let s = max(0, Int(seconds))
        if s < 120 { return "\(s)s ago" }
        if s < 7200 { return "\(s / 60)m ago" }
        return "\(s / 3600)h ago"
    }

    static func bytes(_ n: Int64) -> String {
        let units = ["B", "KB", "MB", "GB", "TB", "PB"]
        var v = Double(n), u = 0
        while v >= 1000 && u < units.count - 1 { v /= 1000; u += 1 }
        return u == 0 ? "\(n) B" : String(format: "%.1f %@", v, units[u])
    }
}
