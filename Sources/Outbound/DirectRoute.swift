import DNSCore
import Foundation
import Logging

/// The route straight to each recipient domain's MX hosts (no smarthost): `DirectDelivery` per
/// domain, the domains of one job at once (a few at a time), every outcome logged with how the
/// session was protected.
public struct DirectRoute: OutboundRoute {
    public let delivery: DirectDelivery
    /// Domains of one job delivered at once.
    public var parallelDomains = 4
    let logger: Logger

    public init(delivery: DirectDelivery, logger: Logger) {
        self.delivery = delivery
        self.logger = logger
    }

    public var name: String { "direct to MX" }

    public func send(from: String, recipients: [String], message: [UInt8]) async throws -> [String: SMTPRelayClient.RecipientResult] {
        let groups = DirectDelivery.byDomain(recipients)
        var outcomes: [String: DirectDelivery.Outcome] = [:]
        await withTaskGroup(of: [String: DirectDelivery.Outcome].self) { tasks in
            var next = 0
            func start() {
                guard next < groups.count else { return }
                let group = groups[next]
                next += 1
                tasks.addTask { await delivery.deliver(from: from, to: group.recipients, domain: group.domain, message: message) }
            }
            for _ in 0..<parallelDomains { start() }
            for await result in tasks {
                outcomes.merge(result) { a, _ in a }
                start()
            }
        }
        var results: [String: SMTPRelayClient.RecipientResult] = [:]
        for recipient in recipients {
            switch outcomes[recipient] ?? .deferred(diagnostic: "no outcome") {
            case .delivered(let host, let security):
                logger.notice("delivered", metadata: ["delivery.domain": "\(recipient.split(separator: "@").last ?? "")", "delivery.host": "\(host)", "delivery.security": "\(security.rawValue)"])
                results[recipient] = .accepted
            case .deferred(let diagnostic):
                results[recipient] = .rejected(code: 451, enhanced: "4.4.1", text: diagnostic)
            case .failed(let status, let diagnostic):
                results[recipient] = .rejected(code: 550, enhanced: status, text: diagnostic)
            }
        }
        return results
    }
}

/// Direct delivery's questions answered by the node's DNS resolver.
public struct DNSDeliveryResolver: DeliveryResolver {
    let dns: any DNSResolving

    public init(_ dns: any DNSResolving) { self.dns = dns }

    static func name(_ text: String) throws -> DNSName {
        do { return try DNSName(text) } catch { throw DeliveryDNSError(permanent: true, description: "\(text) is not a valid DNS name") }
    }

    static func translate(_ error: any Error, _ what: String) -> any Error {
        guard let error = error as? DNSError else { return error }
        return DeliveryDNSError(permanent: error.code == .nameNotFound, description: "\(what): \(error)")
    }

    public func mailExchangers(of domain: String) async throws -> MXAnswer {
        do {
            let answer = try await dns.mx(try Self.name(domain))
            return MXAnswer(exchangers: answer.records.map { MailExchanger(preference: Int($0.preference), host: $0.isNullMX ? "." : $0.exchange.description) },
                            secure: answer.isSecure)
        } catch let error as DNSError where error.code == .noData {
            return MXAnswer(exchangers: nil, secure: error.isSecure)  // no MX: the domain's own addresses
        } catch {
            throw Self.translate(error, "MX of \(domain)")
        }
    }

    public func addresses(of host: String) async throws -> [String] {
        let name = try Self.name(host)
        var out: [String] = []
        var failure: (any Error)?
        for ask in [{ try await dns.aaaa(name) }, { try await dns.a(name) }] {
            do { out += try await ask().records.map(\.description) } catch let error as DNSError where error.isNotFound && error.code == .noData {
                continue
            } catch {
                failure = error
            }
        }
        if out.isEmpty, let failure { throw Self.translate(failure, "address of \(host)") }
        return out
    }

    public func tlsa(port: Int, host: String) async throws -> (records: [TLSARecord], secure: Bool) {
        do {
            let answer = try await dns.tlsa(port: UInt16(clamping: port), host: try Self.name(host))
            return (answer.records, answer.isSecure)
        } catch let error as DNSError where error.isNotFound {
            return ([], error.isSecure)  // no TLSA records: no DANE for this host
        } catch {
            throw Self.translate(error, "TLSA of \(host)")
        }
    }
}
