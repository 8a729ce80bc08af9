import Foundation

/// One line of the batch manifest (JSON Lines in the output root): what happened to one slide in one run.
public struct ManifestRecord: Codable, Sendable, Equatable {
    public enum Status: String, Codable, Sendable { case done, failed, skipped }
    public var input: String
    public var size: Int
    public var checksum: String
    public var status: Status
    public var output: String
    public var instances: Int
    public var seconds: Double
    public var error: String?
    public var warnings: [String]?
    public var finishedAt: String
}

/// The manifest file: appended one whole line at a time (a kill leaves at most a torn last line, which
/// reading skips), read back to resume.
public final class Manifest: @unchecked Sendable {
    public let path: String
    private let lock = NSLock()

    public init(path: String) { self.path = path }

    /// Every readable record, oldest first.
    public func records() -> [ManifestRecord] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        let decoder = JSONDecoder()
        return text.split(separator: "\n").compactMap { try? decoder.decode(ManifestRecord.self, from: Data($0.utf8)) }
    }

    /// The latest record of each input.
    public func latest() -> [String: ManifestRecord] {
        var result: [String: ManifestRecord] = [:]
        for record in records() { result[record.input] = record }
        return result
    }

    public func append(_ record: ManifestRecord) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var line = try encoder.encode(record)
        line.append(0x0A)
        try lock.withLock {
            let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: path]) }
            defer { close(fd) }
            let written = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            guard written == line.count else { throw CocoaError(.fileWriteOutOfSpace, userInfo: [NSFilePathErrorKey: path]) }
            fsync(fd)
        }
    }
}
