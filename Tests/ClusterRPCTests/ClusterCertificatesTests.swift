import ClusterRPC
import Foundation
import Testing
import X509
import SwiftASN1

@Suite("Cluster certificates")
struct ClusterCertificatesTests {
    func temporaryDirectory() -> String { NSTemporaryDirectory() + "sealbox-cluster-" + UUID().uuidString }

    @Test("cluster init makes ca.pem and a 0600 ca.key, and refuses to make them again")
    func initCA() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let fingerprint = try ClusterCertificates.createCA(directory: dir)
        #expect(fingerprint.split(separator: ":").count == 32)
        let (cert, key) = ClusterCertificates.caPaths(directory: dir)
        let keyMode = try FileManager.default.attributesOfItem(atPath: key)[.posixPermissions] as? Int
        #expect(keyMode == 0o600)
        let dirMode = try FileManager.default.attributesOfItem(atPath: dir)[.posixPermissions] as? Int
        #expect(dirMode == 0o700)
        let ca = try Certificate(pemEncoded: String(contentsOfFile: cert, encoding: .utf8))
        #expect(try ca.extensions.basicConstraints == .isCertificateAuthority(maxPathLength: 0))
        let before = try String(contentsOfFile: key, encoding: .utf8)
        #expect(throws: ClusterCertificates.Failure.self) { try ClusterCertificates.createCA(directory: dir) }
        #expect(try String(contentsOfFile: key, encoding: .utf8) == before)
    }

    @Test("add-node issues a certificate for the name and addresses, signed by the CA, key 0600; no overwrite")
    func addNode() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try ClusterCertificates.createCA(directory: dir)
        let (certPath, keyPath) = try ClusterCertificates.issueNodeCertificate(caDirectory: dir, name: "storage-1",
                                                                              addresses: ["127.0.0.2", "::1", "store1.example.net"],
                                                                              outDirectory: dir + "/nodes")
        #expect(try FileManager.default.attributesOfItem(atPath: keyPath)[.posixPermissions] as? Int == 0o600)
        let ca = try Certificate(pemEncoded: String(contentsOfFile: ClusterCertificates.caPaths(directory: dir).certificate, encoding: .utf8))
        let node = try Certificate(pemEncoded: String(contentsOfFile: certPath, encoding: .utf8))
        #expect(node.issuer == ca.subject)
        #expect(ca.publicKey.isValidSignature(node.signature, for: node))
        let san = try #require(try node.extensions.subjectAlternativeNames)
        #expect(san.contains(.dnsName("storage-1")))
        #expect(san.contains(.dnsName("store1.example.net")))
        #expect(san.contains(.ipAddress(ASN1OctetString(contentBytes: [127, 0, 0, 2]))))
        #expect(san.contains(.ipAddress(ASN1OctetString(contentBytes: ArraySlice([UInt8](repeating: 0, count: 15) + [1])))))
        let eku = try #require(try node.extensions.extendedKeyUsage)
        #expect(eku.contains(.serverAuth) && eku.contains(.clientAuth))
        #expect(throws: ClusterCertificates.Failure.self) {
            try ClusterCertificates.issueNodeCertificate(caDirectory: dir, name: "storage-1", addresses: [], outDirectory: dir + "/nodes")
        }
        // Names the client could not dial by (SNI cannot carry an address) are refused.
        for bad in ["", "127.0.0.1", "-x", "a b", "x/y", String(repeating: "a", count: 64)] {
            #expect(!ClusterCertificates.isValidNodeName(bad), "\(bad)")
        }
        #expect(throws: ClusterCertificates.Failure.self) {
            try ClusterCertificates.issueNodeCertificate(caDirectory: dir + "/none", name: "x", addresses: [], outDirectory: dir)
        }
    }
}
