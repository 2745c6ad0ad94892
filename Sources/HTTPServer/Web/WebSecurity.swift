import Crypto
import Foundation
import HTTPTypes
import Hummingbird

/// The web pages' defences: CSRF tokens bound to the session, the Origin/Referer check of every
/// POST, and the security headers of every page.
///
/// A CSRF token is HMAC-SHA256(key, purpose ":" session id) under a random key made when the
/// listener starts (sessions live in memory too, so a restart ends both). Forms carry it in a
/// hidden `csrf` field; it is checked with `HMAC.isValidAuthenticationCode` (constant time). Before
/// sign-in, the sign-in forms use a random `sealbox_presession` cookie in place of the session.
public struct WebCSRF: Sendable {
    private let key: SymmetricKey

    public init(key: SymmetricKey = SymmetricKey(size: .bits256)) {
        self.key = key
    }

    /// The cookie that binds the sign-in forms' token before there is a session.
    public static let preSessionCookie = "sealbox_presession"
    /// The form field.
    public static let field = "csrf"

    /// The token of `session` for forms of `purpose` (`owner`, `admin`, `signin`).
    public func token(session: String, purpose: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Array("\(purpose):\(session)".utf8), using: key)
        return WebBase64URL.encode(Array(mac))
    }

    /// Whether `token` is the one of `session` (constant time).
    public func isValid(_ token: String?, session: String, purpose: String) -> Bool {
        guard let token, token.utf8.count <= 64, let mac = WebBase64URL.decode(token), mac.count == 32 else { return false }
        return HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: Array("\(purpose):\(session)".utf8), using: key)
    }

    /// A new random id (32 bytes, base64url).
    public static func randomID() -> String {
        var generator = SystemRandomNumberGenerator()
        return WebBase64URL.encode((0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) })
    }
}

enum WebBase64URL {
    static func encode(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func decode(_ text: String) -> [UInt8]? {
        var s = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while s.utf8.count % 4 != 0 { s += "=" }
        return Data(base64Encoded: s).map(Array.init)
    }
}

enum WebHeaders {
    /// The content security policy of every page: nothing from elsewhere, no inline script or style,
    /// forms post to this origin only, no framing.
    static let contentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

    /// The headers of every page and static file.
    static func apply(to fields: inout HTTPFields) {
        fields[.contentSecurityPolicy] = contentSecurityPolicy
        fields[HTTPField.Name("X-Content-Type-Options")!] = "nosniff"
        fields[HTTPField.Name("Referrer-Policy")!] = "no-referrer"
        fields[HTTPField.Name("X-Frame-Options")!] = "DENY"
        fields[HTTPField.Name("Cross-Origin-Opener-Policy")!] = "same-origin"
        fields[HTTPField.Name("Cross-Origin-Resource-Policy")!] = "same-origin"
        fields[HTTPField.Name("Permissions-Policy")!] = "camera=(), microphone=(), geolocation=()"
    }

    /// The value of the named cookie in the request, if any.
    static func cookie(_ name: String, in fields: HTTPFields) -> String? {
        for header in fields[values: .cookie] {
            for pair in header.split(separator: ";") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                guard parts.count == 2, parts[0].trimmingCharacters(in: .whitespaces) == name else { continue }
                let value = parts[1].trimmingCharacters(in: .whitespaces)
                if !value.isEmpty, value.utf8.count <= 128 { return value }
            }
        }
        return nil
    }

    static func setCookie(_ name: String, _ value: String, maxAge: Int, secure: Bool) -> String {
        "\(name)=\(value); Path=/; HttpOnly; SameSite=Strict; Max-Age=\(maxAge)" + (secure ? "; Secure" : "")
    }

    /// Whether a POST comes from this site, as far as the browser says: `Sec-Fetch-Site` when sent
    /// (browsers set it themselves) must be `same-origin` (or `none`: typed by the user); else an
    /// `Origin`, else a `Referer`, must name this host. Under `Referrer-Policy: no-referrer`
    /// browsers send `Origin: null` with a form post, so `null` says nothing either way. A request
    /// that says nothing (an old browser, a script) is left to the CSRF token, which every POST needs.
    static func isSameOrigin(_ request: Request) -> Bool {
        if let site = request.headers[HTTPField.Name("Sec-Fetch-Site")!] {
            return site == "same-origin" || site == "none"
        }
        let host = request.head.authority?.lowercased()
        func authority(of url: String) -> String? {
            guard let components = URLComponents(string: url), let h = components.host else { return nil }
            let hostPart = h.contains(":") ? "[\(h)]" : h
            return (components.port.map { "\(hostPart):\($0)" } ?? hostPart).lowercased()
        }
        func sameHost(_ other: String?) -> Bool {
            guard let other, let host else { return false }
            // The Host header may leave out the default port.
            let strip = { (a: String) -> String in
                a.hasSuffix(":443") ? String(a.dropLast(4)) : a.hasSuffix(":80") ? String(a.dropLast(3)) : a
            }
            return strip(other) == strip(host)
        }
        if let origin = request.headers[.origin], origin != "null" {
            return sameHost(authority(of: origin))
        }
        if let referer = request.headers[.referer] {
            return sameHost(authority(of: referer))
        }
        return true
    }
}

/// An `application/x-www-form-urlencoded` body, with limits.
struct WebForm: Sendable {
    static let maxBytes = 16 * 1024
    static let maxFields = 32

    private(set) var fields: [String: String] = [:]

    init(_ text: String) throws {
        var count = 0
        for pair in text.split(separator: "&", omittingEmptySubsequences: true) {
            count += 1
            guard count <= Self.maxFields else { throw HTTPAPIError(.badRequest, code: "invalid_request", "too many form fields") }
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let decode = { (s: Substring) -> String? in String(s).replacingOccurrences(of: "+", with: " ").removingPercentEncoding }
            guard let name = decode(parts[0]), let value = parts.count > 1 ? decode(parts[1]) : "" else {
                throw HTTPAPIError(.badRequest, code: "invalid_request", "malformed form")
            }
            if fields[name] == nil { fields[name] = value }
        }
    }

    subscript(_ name: String) -> String? { fields[name] }

    /// The field trimmed, nil when absent or empty.
    func text(_ name: String) -> String? {
        guard let v = fields[name]?.trimmingCharacters(in: .whitespacesAndNewlines), !v.isEmpty else { return nil }
        return v
    }

    /// Reads and parses a request's form body.
    static func read(_ request: inout Request) async throws -> WebForm {
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: maxBytes)
        } catch {
            throw HTTPAPIError(.contentTooLarge, code: "too_large", "the form is larger than \(maxBytes) bytes")
        }
        return try WebForm(String(buffer: buffer))
    }
}
