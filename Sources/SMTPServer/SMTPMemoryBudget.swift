import MailNet

/// The MX's budget of message bytes in memory (see `MemoryBudget`).
public typealias SMTPMemoryBudget = MemoryBudget
