import Backup
import BackupStore
import Foundation
import Logging

/// Backups as configured: the destination from `backup.*` settings and the service over a node.
public enum SealboxBackups {
    public struct NotConfigured: Error, CustomStringConvertible, Sendable {
        public var description: String {
            "no backup destination: set backup.destination (SEALBOX_BACKUP_DESTINATION) to s3://BUCKET/PREFIX or file:///PATH"
        }
    }

    /// The destination of `configuration`; nil when none is configured.
    public static func destination(configuration c: SealboxConfiguration) throws -> (any BackupDestination)? {
        guard let url = c.backup.destination else { return nil }
        var s3: S3Configuration?
        if url.hasPrefix("s3://") {
            var config = S3Configuration(bucket: "", accessKeyID: c.backup.s3AccessKeyID ?? "", secretAccessKey: c.backup.s3SecretAccessKey ?? "")
            config.endpoint = c.backup.s3Endpoint
            config.region = c.backup.s3Region
            config.pathStyle = c.backup.s3PathStyle
            config.concurrency = c.backup.s3Concurrency
            s3 = config
        }
        return try BackupDestinations.make(url: url, s3: s3)
    }

    public static func service(configuration: SealboxConfiguration, node: SealboxNode,
                               logger: Logger = Logger(label: "sealbox.backup")) throws -> BackupService {
        guard let destination = try destination(configuration: configuration) else { throw NotConfigured() }
        var logger = logger
        logger.logLevel = configuration.log.level  // log.level (SEALBOX_LOG_LEVEL), notice by default
        return BackupService(logger: logger,
            mailboxes: node.mailboxes, directory: node.directory, destination: destination,
            configuration: .init(temporaryDirectory: node.dataDirectory + "/backup-tmp", generations: configuration.backup.generations))
    }
}
