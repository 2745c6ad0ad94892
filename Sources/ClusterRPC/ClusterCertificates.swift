import Crypto
import Foundation
import NIOSSL
import SwiftASN1
import X509

/// The cluster's own certificate authority and the node certificates it signs (docs/cluster-rpc.md).
///
/// Every node of a cluster holds `ca.pem` (the CA certificate) and its own certificate and key;
/// only the machine where `sealbox cluster add-node` runs holds `ca.key`. The RPC between frontends
/// and storage nodes is mutual TLS with these: a peer whose certificate the CA did not sign gets
/// nothing (the handshake fails before any byte of the protocol).
public enum ClusterCertificates {
    public struct Failure: Error, CustomStringConvertible, Sendable {
        public let description: String
        public init(_ description: String) { self.description = description }
    }

    /// The files of a CA directory.
    public static func caPaths(directory: String) -> (certificate: String, key: String) {
        (directory + "/ca.pem", directory + "/ca.key")
    }

    /// The files of a node's certificate in `directory`.
    public static func nodePaths(directory: String, name: String) -> (certificate: String, key: String) {
        (directory + "/\(name).pem", directory + "/\(name).key")
    }

    /// Makes a new CA in `directory` (created 0700 when missing): `ca.pem` (0644) and `ca.key`
    /// (0600). Refuses when either file exists: a second CA would silently split the cluster.
    /// Returns the CA certificate's SHA-256 fingerprint.
    @discardableResult
    public static func createCA(directory: String, name: String = "Sealbox cluster CA", validityDays: Int = 3650) throws -> String {
        let (certPath, keyPath) = caPaths(directory: directory)
        let fm = FileManager.default
        for path in [certPath, keyPath] where fm.fileExists(atPath: path) {
            throw Failure("\(path) exists: refusing to replace the cluster CA (remove it first if you really mean to start a new cluster)")
        }
        try fm.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let key = P256.Signing.PrivateKey()
        let signingKey = Certificate.PrivateKey(key)
        let subject = try DistinguishedName {
            CommonName(name)
            OrganizationName("Sealbox cluster")
        }
        let now = Date()
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: signingKey.publicKey,
            notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(Double(validityDays) * 86400),
            issuer: subject, subject: subject, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                SubjectKeyIdentifier(keyIdentifier: keyIdentifier(key.publicKey))
            },
            issuerPrivateKey: signingKey)
        try writeFile(keyPath, key.pemRepresentation, mode: 0o600, exclusive: true)
        do {
            try writeFile(certPath, try certificate.serializeAsPEM().pemString, mode: 0o644, exclusive: true)
        } catch {
            unlink(keyPath)
            throw error
        }
        return try fingerprint(certificate)
    }

    /// Whether `name` can name a node: a DNS-like name (letters, digits, `-`, `.`; 1–63 bytes, not
    /// an IP address), because it is the name the client checks in the server's certificate (TLS
    /// SNI cannot carry an address).
    public static func isValidNodeName(_ name: String) -> Bool {
        guard (1 ... 63).contains(name.utf8.count), ipBytes(name) == nil else { return false }
        guard let first = name.utf8.first, first != UInt8(ascii: "-"), first != UInt8(ascii: "."),
              name.utf8.last != UInt8(ascii: "."), name.utf8.last != UInt8(ascii: "-") else { return false }
        return name.utf8.allSatisfy { b in
            (b >= 0x61 && b <= 0x7A) || (b >= 0x41 && b <= 0x5A) || (b >= 0x30 && b <= 0x39) || b == 0x2D || b == 0x2E
        } && name.utf8.contains { !($0 >= 0x30 && $0 <= 0x39) && $0 != 0x2E }
    }

    /// Issues a certificate for node `name` signed by the CA in `caDirectory`, valid for `name`
    /// and `addresses` (IP addresses or DNS names; SAN), for both server and client use. Writes
    /// `<outDirectory>/<name>.pem` (0644) and `<name>.key` (0600); refuses to replace them.
    /// Returns their paths.
    @discardableResult
    public static func issueNodeCertificate(caDirectory: String, name: String, addresses: [String], outDirectory: String,
                                            validityDays: Int = 825) throws -> (certificate: String, key: String) {
        guard isValidNodeName(name) else {
            throw Failure("not a node name: \(name.debugDescription) (letters, digits, '-' and '.', 1 to 63 of them, not an address)")
        }
        let (caCert, caKey) = try loadCA(directory: caDirectory)
        let (certPath, keyPath) = nodePaths(directory: outDirectory, name: name)
        let fm = FileManager.default
        for path in [certPath, keyPath] where fm.fileExists(atPath: path) {
            throw Failure("\(path) exists: refusing to replace it")
        }
        var names: [GeneralName] = [.dnsName(name)]
        for address in addresses where address != name {
            if let ip = ipBytes(address) {
                names.append(.ipAddress(ASN1OctetString(contentBytes: ArraySlice(ip))))
            } else if isValidNodeName(address) {
                names.append(.dnsName(address))
            } else {
                throw Failure("not an address or host name: \(address.debugDescription)")
            }
        }
        let key = P256.Signing.PrivateKey()
        let publicKey = Certificate.PublicKey(key.publicKey)
        let subject = try DistinguishedName {
            CommonName(name)
            OrganizationName("Sealbox cluster")
        }
        let now = Date()
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: publicKey,
            notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(Double(validityDays) * 86400),
            issuer: caCert.subject, subject: subject, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([.serverAuth, .clientAuth])
                SubjectAlternativeNames(names)
                SubjectKeyIdentifier(keyIdentifier: keyIdentifier(key.publicKey))
                if let aki = try? caCert.extensions.subjectKeyIdentifier?.keyIdentifier {
                    AuthorityKeyIdentifier(keyIdentifier: aki)
                }
            },
            issuerPrivateKey: caKey)
        try fm.createDirectory(atPath: outDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        try writeFile(keyPath, key.pemRepresentation, mode: 0o600, exclusive: true)
        do {
            try writeFile(certPath, try certificate.serializeAsPEM().pemString, mode: 0o644, exclusive: true)
        } catch {
            unlink(keyPath)
            throw error
        }
        return (certPath, keyPath)
    }

    /// The node name a certificate of `add-node` was issued for: its first DNS name.
    public static func nodeName(certificatePath: String) throws -> String {
        guard let pem = try? String(contentsOfFile: certificatePath, encoding: .utf8) else {
            throw Failure("cannot read the node certificate \(certificatePath) (cluster.certificate)")
        }
        let certificate: Certificate
        do { certificate = try Certificate(pemEncoded: pem) } catch {
            throw Failure("cannot parse the node certificate \(certificatePath) (cluster.certificate)")
        }
        let names: SubjectAlternativeNames? = (try? certificate.extensions.subjectAlternativeNames) ?? nil
        for name in names.map(Array.init) ?? [] {
            if case .dnsName(let dns) = name, isValidNodeName(dns) { return dns }
        }
        throw Failure("the node certificate \(certificatePath) names no node (set cluster.name)")
    }

    /// The cluster's shared secret file (`cluster.secret`, 32 random bytes, 0600) in `directory`,
    /// made by `init` beside the CA; refuses to replace one.
    @discardableResult
    public static func createSecret(directory: String) throws -> String {
        let path = directory + "/cluster.secret"
        let bytes = SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) }
        try writeFile(path, bytes, mode: 0o600, exclusive: true)
        return path
    }

    /// The CA certificate and key of `directory`.
    static func loadCA(directory: String) throws -> (Certificate, Certificate.PrivateKey) {
        let (certPath, keyPath) = caPaths(directory: directory)
        guard let certPEM = try? String(contentsOfFile: certPath, encoding: .utf8),
              let keyPEM = try? String(contentsOfFile: keyPath, encoding: .utf8) else {
            throw Failure("no cluster CA in \(directory) (ca.pem and ca.key; `sealbox cluster init` makes them)")
        }
        do {
            let certificate = try Certificate(pemEncoded: certPEM)
            let key = try Certificate.PrivateKey(P256.Signing.PrivateKey(pemRepresentation: keyPEM))
            guard key.publicKey == certificate.publicKey else { throw Failure("ca.key does not match ca.pem") }
            return (certificate, key)
        } catch let failure as Failure {
            throw failure
        } catch {
            throw Failure("cannot read the cluster CA in \(directory): \(type(of: error))")
        }
    }

    /// SHA-256 of the certificate's DER, hex pairs with colons.
    public static func fingerprint(_ certificate: Certificate) throws -> String {
        var serializer = DER.Serializer()
        try serializer.serialize(certificate)
        return SHA256.hash(data: serializer.serializedBytes).map { String(format: "%02X", $0) }.joined(separator: ":")
    }

    /// RFC 5280 §4.2.1.2 method 1: SHA-1 of the public key's bits.
    static func keyIdentifier(_ key: P256.Signing.PublicKey) -> ArraySlice<UInt8> {
        ArraySlice(Insecure.SHA1.hash(data: key.x963Representation))
    }

    static func ipBytes(_ s: String) -> [UInt8]? {
        var v4 = in_addr(), v6 = in6_addr()
        if inet_pton(AF_INET, s, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
        if inet_pton(AF_INET6, s, &v6) == 1 { return withUnsafeBytes(of: &v6) { Array($0) } }
        return nil
    }

    /// Writes atomically with `mode` (a key never exists with wider permissions); with `exclusive`,
    /// fails when `path` exists (the check and the link are one step: link(2) does not replace).
    static func writeFile(_ path: String, _ text: String, mode: mode_t, exclusive: Bool) throws {
        try writeFile(path, Array(text.utf8), mode: mode, exclusive: exclusive)
    }

    static func writeFile(_ path: String, _ bytes: [UInt8], mode: mode_t, exclusive: Bool) throws {
        let tmp = path + ".tmp-\(getpid())"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, mode)
        guard fd >= 0 else { throw Failure("cannot write \(path)") }
        fchmod(fd, mode)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        fsync(fd)
        close(fd)
        guard written == bytes.count else {
            unlink(tmp)
            throw Failure("cannot write \(path)")
        }
        if exclusive {
            defer { unlink(tmp) }
            guard link(tmp, path) == 0 else { throw Failure(errno == EEXIST ? "\(path) exists: refusing to replace it" : "cannot write \(path)") }
        } else {
            guard rename(tmp, path) == 0 else { unlink(tmp); throw Failure("cannot write \(path)") }
        }
    }
}

/// The TLS configurations of the cluster RPC: mutual TLS, TLS 1.3 only, trusting the cluster CA
/// alone (never the system's roots).
public struct ClusterTLS: Sendable {
    public let certificateChain: [NIOSSLCertificate]
    public let privateKey: NIOSSLPrivateKey
    public let ca: [NIOSSLCertificate]

    public init(certificateChain: [NIOSSLCertificate], privateKey: NIOSSLPrivateKey, ca: [NIOSSLCertificate]) {
        self.certificateChain = certificateChain; self.privateKey = privateKey; self.ca = ca
    }

    /// Loads the node's certificate (PEM chain), its key and the CA certificate.
    public init(certificatePath: String, keyPath: String, caPath: String) throws {
        do {
            certificateChain = try NIOSSLCertificate.fromPEMFile(certificatePath)
        } catch {
            throw ClusterCertificates.Failure("cannot load the node certificate \(certificatePath) (cluster.certificate)")
        }
        do {
            privateKey = try NIOSSLPrivateKey(file: keyPath, format: .pem)
        } catch {
            throw ClusterCertificates.Failure("cannot load the node key \(keyPath) (cluster.key)")
        }
        do {
            ca = try NIOSSLCertificate.fromPEMFile(caPath)
        } catch {
            throw ClusterCertificates.Failure("cannot load the cluster CA certificate \(caPath) (cluster.ca)")
        }
        guard !certificateChain.isEmpty, !ca.isEmpty else { throw ClusterCertificates.Failure("empty certificate file") }
    }

    /// The storage node's side: presents its certificate, requires one from the client and
    /// verifies it against the cluster CA (any node of the cluster may call; names are not checked).
    public var serverConfiguration: TLSConfiguration {
        var c = TLSConfiguration.makeServerConfiguration(certificateChain: certificateChain.map { .certificate($0) },
                                                         privateKey: .privateKey(privateKey))
        c.minimumTLSVersion = .tlsv13
        c.trustRoots = .certificates(ca)
        c.certificateVerification = .noHostnameVerification
        c.sendCANameList = true
        return c
    }

    /// The frontend's side: presents its certificate and verifies the server's against the CA and
    /// the node name it dials (`serverName`, sent as SNI).
    public var clientConfiguration: TLSConfiguration {
        var c = TLSConfiguration.makeClientConfiguration()
        c.minimumTLSVersion = .tlsv13
        c.trustRoots = .certificates(ca)
        c.certificateVerification = .fullVerification
        c.certificateChain = certificateChain.map { .certificate($0) }
        c.privateKey = .privateKey(privateKey)
        return c
    }
}
