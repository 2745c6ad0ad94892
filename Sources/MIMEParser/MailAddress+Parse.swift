extension MailAddress {
    /// The mailboxes of an address-list header value (group members included, group markers
    /// left out), as the Sieve `address` test (RFC 5228 §5.1) reads them. A mailbox or domain the
    /// parser could not find is nil.
    public static func parseList(_ value: [UInt8], limits: MIMELimits = .default) -> [MailAddress] {
        var out = [MailAddress]()
        for a in AddressParser.parse(value, limits: limits) where !a.isGroupStart && !a.isGroupEnd {
            let mbox = a.mailbox.map { String(decoding: $0, as: UTF8.self) }
            let host = a.host.map { String(decoding: $0, as: UTF8.self) }
            out.append(MailAddress(name: a.name, mailbox: mbox == "MISSING_MAILBOX" ? nil : mbox,
                                   host: host == "MISSING_DOMAIN" ? nil : host))
        }
        return out
    }
}
