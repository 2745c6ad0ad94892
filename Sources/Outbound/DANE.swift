import Crypto
import DNSCore
import Foundation
import NIOSSL
import X509

extension TLSARecord {
    /// Usable for SMTP (RFC 7672 §3.1): DANE-TA(2) or DANE-EE(3), a known selector and matching type.
    public var isUsableForSMTP: Bool { (usage == 2 || usage == 3) && selector <= 1 && matchingType <= 2 }
}

/// DANE for SMTP (RFC 7672): the MX host's certificate is checked against its DNSSEC-secured TLSA
/// records instead of the CA trust store. DANE-EE(3) matches the leaf certificate (names and
/// dates not checked, RFC 7672 §3.1.1); DANE-TA(2) matches a certificate of the chain the server
/// sent, which must then sign the leaf, and the leaf must name the MX host (§3.1.2, §3.2.2).
public enum DANE {
    /// The bytes a selector names: the whole certificate (0) or its SubjectPublicKeyInfo (1).
    static func selected(_ selector: UInt8, certificateDER: [UInt8], spkiDER: [UInt8]) -> [UInt8] {
        selector == 0 ? certificateDER : spkiDER
    }

    static func matches(_ association: TLSARecord, certificateDER: [UInt8], spkiDER: [UInt8]) -> Bool {
        let bytes = selected(association.selector, certificateDER: certificateDER, spkiDER: spkiDER)
        switch association.matchingType {
        case 0: return bytes == association.data
        case 1: return Array(SHA256.hash(data: bytes)) == association.data
        case 2: return Array(SHA512.hash(data: bytes)) == association.data
        default: return false
        }
    }

    /// Whether the chain the server presented (leaf first, as DER with each certificate's SPKI)
    /// satisfies one of `records` for `host`.
    public static func verify(chain: [(certificate: [UInt8], spki: [UInt8])], records: [TLSARecord], host: String,
                              now: Date = Date()) async -> Bool {
        guard let leaf = chain.first else { return false }
        let usable = records.filter(\.isUsableForSMTP)
        if usable.contains(where: { $0.usage == 3 && matches($0, certificateDER: leaf.certificate, spkiDER: leaf.spki) }) {
            return true
        }
        // DANE-TA: a certificate the server sent (other than the leaf) is the trust anchor.
        for anchor in chain.dropFirst() where usable.contains(where: { $0.usage == 2 && matches($0, certificateDER: anchor.certificate, spkiDER: anchor.spki) }) {
            guard let root = try? Certificate(derEncoded: anchor.certificate),
                  let leafCertificate = try? Certificate(derEncoded: leaf.certificate) else { continue }
            let intermediates = chain.dropFirst().compactMap { try? Certificate(derEncoded: $0.certificate) }
            var verifier = Verifier(rootCertificates: CertificateStore([root])) {
                RFC5280Policy(validationTime: now)
                ServerIdentityPolicy(serverHostname: host, serverIP: nil)
            }
            if case .validCertificate = await verifier.validate(leafCertificate: leafCertificate, intermediates: CertificateStore(intermediates)) {
                return true
            }
        }
        return false
    }

    /// The certificate check for the SMTP client: NIOSSL's certificates as DER and SPKI.
    public static func check(records: [TLSARecord], host: String) -> @Sendable ([NIOSSLCertificate]) async -> Bool {
        { certificates in
            let chain = certificates.compactMap { c -> (certificate: [UInt8], spki: [UInt8])? in
                guard let der = try? c.toDERBytes(), let spki = try? c.extractPublicKey().toSPKIBytes() else { return nil }
                return (der, spki)
            }
            guard chain.count == certificates.count else { return false }
            return await verify(chain: chain, records: records, host: host)
        }
    }
}
