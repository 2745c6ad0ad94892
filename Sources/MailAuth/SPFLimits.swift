/// The bounds of one SPF evaluation (RFC 7208 §4.6.4, §11.1): every check ends after a bounded
/// number of DNS queries, whatever the published records say. The time budget is the caller's
/// (cancel the task; a cancelled lookup gives `temperror`).
///
/// With the defaults one check makes at most about 130 queries: 10 DNS-querying terms, each `mx`
/// with at most 10 address lookups and each `ptr` with one PTR and 10 address lookups, plus the
/// first TXT lookup, the `p` macro's lookups (once per check) and the `exp=` lookup.
public struct SPFLimits: Sendable, Hashable {
    /// Terms that cause DNS lookups (`include`, `a`, `mx`, `ptr`, `exists`, `redirect`) over the
    /// whole check, includes and redirects counted together; one more is `permerror` (§4.6.4).
    public var dnsMechanisms: Int
    /// Lookups of those terms that return NXDOMAIN or no records; one more is `permerror` (§4.6.4).
    public var voidLookups: Int
    /// MX records one `mx` mechanism looks up addresses for; a target with more is `permerror`
    /// (§4.6.4).
    public var mxAddresses: Int
    /// PTR names the `ptr` mechanism and the `p` macro validate; the rest are ignored (§4.6.4).
    public var ptrNames: Int
    /// The longest SPF record (its TXT strings joined) that is parsed; a longer one is `permerror`.
    /// RFC 7208 §3.4 asks publishers to fit the answer in 512 bytes; real records reach 2 KB.
    public var maxRecordLength: Int
    /// The longest macro expansion (a target name before it is cut to 253 bytes, an explanation);
    /// a target whose expansion is longer does not exist, an explanation that long is not used.
    public var maxExpansionLength: Int

    public init(dnsMechanisms: Int = 10, voidLookups: Int = 2, mxAddresses: Int = 10, ptrNames: Int = 10,
                maxRecordLength: Int = 4096, maxExpansionLength: Int = 8192) {
        self.dnsMechanisms = dnsMechanisms; self.voidLookups = voidLookups; self.mxAddresses = mxAddresses
        self.ptrNames = ptrNames; self.maxRecordLength = maxRecordLength; self.maxExpansionLength = maxExpansionLength
    }
}
