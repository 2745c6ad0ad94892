import Crypto
import Foundation
import NIOSSL
import SwiftASN1
import X509

/// TLS for the mail listeners.
public enum ServerTLS {
    public struct Failure: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    /// Loads the PEM certificate chain + key when both paths are given; otherwise uses (creating on
    /// first start) a self-signed certificate kept in `<dataDirectory>/tls/` (key file 0600, dir 0700),
    /// for `hostnames` (SAN). TLS 1.2 minimum with AEAD suites only; TLS 1.3 offers X25519MLKEM768 first.
    public static func makeContext(certificatePath: String?, keyPath: String?, dataDirectory: String, hostnames: [String]) throws -> NIOSSLContext {
        try NIOSSLContext(configuration: makeConfiguration(certificatePath: certificatePath, keyPath: keyPath, dataDirectory: dataDirectory, hostnames: hostnames))
    }

    /// The same policy as a configuration (for a listener that builds its own context: HTTP).
    public static func makeConfiguration(certificatePath: String?, keyPath: String?, dataDirectory: String, hostnames: [String]) throws -> TLSConfiguration {
        let (chain, key) = try loadOrCreate(certificatePath: certificatePath, keyPath: keyPath, dataDirectory: dataDirectory, hostnames: hostnames)
        var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        configuration.minimumTLSVersion = .tlsv12
        configuration.cipherSuiteValues = tls12CipherSuites
        configuration.curves = [.x25519_MLKEM768, .x25519, .secp256r1, .secp384r1]
        return configuration
    }

    /// TLS 1.2's suites: forward secrecy and AEAD only (no CBC: Lucky13-class padding oracles,
    /// no static RSA key exchange). TLS 1.3's suites are all AEAD and not configurable.
    public static let tls12CipherSuites: [NIOTLSCipher] = [
        .TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, .TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        .TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, .TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        .TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, .TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    ]

    /// The paths of the self-signed certificate and key in a data directory.
    public static func selfSignedPaths(dataDirectory: String) -> (certificate: String, key: String) {
        (dataDirectory + "/tls/cert.pem", dataDirectory + "/tls/key.pem")
    }

    /// SHA-256 fingerprint of the certificate in use, hex pairs with colons.
    public static func fingerprint(certificatePath: String?, dataDirectory: String) -> String? {
        let path = certificatePath ?? selfSignedPaths(dataDirectory: dataDirectory).certificate
        guard let pem = try? String(contentsOfFile: path, encoding: .utf8),
              let cert = try? Certificate(pemEncoded: pem) else { return nil }
        var serializer = DER.Serializer()
        guard (try? serializer.serialize(cert)) != nil else { return nil }
        return SHA256.hash(data: serializer.serializedBytes).map { String(format: "%02X", $0) }.joined(separator: ":")
    }

    static func loadOrCreate(certificatePath: String?, keyPath: String?, dataDirectory: String, hostnames: [String]) throws -> ([NIOSSLCertificate], NIOSSLPrivateKey) {
        if let certificatePath, let keyPath {
            do {
                return (try NIOSSLCertificate.fromPEMFile(certificatePath), try NIOSSLPrivateKey(file: keyPath, format: .pem))
            } catch {
                throw Failure(description: "cannot load the TLS certificate (tls.certificate \(certificatePath)) or key (tls.key \(keyPath)): \(error)")
            }
        }
        if (certificatePath == nil) != (keyPath == nil) {
            throw Failure(description: "tls.certificate and tls.key must be given together")
        }
        let (certPath, keyFile) = selfSignedPaths(dataDirectory: dataDirectory)
        let fm = FileManager.default
        if !fm.fileExists(atPath: certPath) || !fm.fileExists(atPath: keyFile) {
            try createSelfSigned(certificatePath: certPath, keyPath: keyFile, hostnames: hostnames)
        }
        do {
            return (try NIOSSLCertificate.fromPEMFile(certPath), try NIOSSLPrivateKey(file: keyFile, format: .pem))
        } catch {
            throw Failure(description: "cannot load the self-signed certificate in \(dataDirectory)/tls: \(error)")
        }
    }

    /// A self-signed P-256 certificate valid for ten years. It is its own CA (path length 0), so a
    /// client can trust it directly (a "not a CA" leaf with only digitalSignature is rejected then).
    static func createSelfSigned(certificatePath: String, keyPath: String, hostnames: [String]) throws {
        let directory = (certificatePath as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let key = P256.Signing.PrivateKey()
        let signingKey = Certificate.PrivateKey(key)
        let commonName = hostnames.first ?? "localhost"
        let name = try DistinguishedName {
            CommonName(commonName)
            OrganizationName("Sealbox self-signed")
        }
        var names: [GeneralName] = []
        for host in hostnames {
            if let v4 = ipv4Bytes(host) {
                names.append(.ipAddress(ASN1OctetString(contentBytes: ArraySlice(v4))))
            } else if host == "::1" {
                names.append(.ipAddress(ASN1OctetString(contentBytes: ArraySlice([UInt8](repeating: 0, count: 15) + [1]))))
            } else if !host.contains(":") {
                names.append(.dnsName(host))
            }
        }
        let now = Date()
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: signingKey.publicKey,
            notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(10 * 365 * 86400),
            issuer: name, subject: name, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(digitalSignature: true, keyCertSign: true))
                try ExtendedKeyUsage([.serverAuth])
                SubjectAlternativeNames(names)
            },
            issuerPrivateKey: signingKey)
        let certPEM = try certificate.serializeAsPEM().pemString
        try writeFile(keyPath, key.pemRepresentation, mode: 0o600)
        try writeFile(certificatePath, certPEM, mode: 0o644)
    }

    static func ipv4Bytes(_ s: String) -> [UInt8]? {
        let parts = s.split(separator: ".")
        guard parts.count == 4 else { return nil }
        let bytes = parts.compactMap { UInt8($0) }
        return bytes.count == 4 ? bytes : nil
    }

    /// Writes atomically with the given mode (the key never exists with wider permissions).
    static func writeFile(_ path: String, _ text: String, mode: mode_t) throws {
        let tmp = path + ".tmp-\(getpid())"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, mode)
        guard fd >= 0 else { throw Failure(description: "cannot write \(path)") }
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        fsync(fd)
        close(fd)
        guard written == bytes.count, rename(tmp, path) == 0 else {
            unlink(tmp)
            throw Failure(description: "cannot write \(path)")
        }
    }
}
