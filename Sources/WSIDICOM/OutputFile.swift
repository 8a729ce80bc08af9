import Foundation

/// An error writing an output file, with the path and the system's reason.
public struct OutputError: Error, CustomStringConvertible, Sendable {
    public let path: String
    public let reason: String
    public init(path: String, reason: String) { self.path = path; self.reason = reason }
    public init(path: String, errno code: Int32) { self.init(path: path, reason: String(cString: strerror(code))) }
    public var description: String { "\(path): \(reason)" }
}

/// The temporary names output files are written under: `.NAME.partial[VARIANT]-PID`.
public enum TemporaryFileName {
    static func make(for name: String, variant: String, pid: Int32 = getpid()) -> String { ".\(name).partial\(variant)-\(pid)" }

    /// The process that writes a file of this name, or nil when the name is not one of ours.
    public static func owner(of name: String) -> Int32? {
        guard name.hasPrefix("."), name.contains(".partial"), let dash = name.lastIndex(of: "-") else { return nil }
        return Int32(name[name.index(after: dash)...])
    }
}

/// A file written under a temporary name in its destination's folder and renamed into place only
/// when complete, so an interrupted run never leaves an output that looks whole. Buffered; supports
/// patching bytes already written (offset tables).
final class OutputFile {
    let destination: String
    let temporaryPath: String
    private var fd: Int32
    private var buffer: [UInt8] = []
    private let bufferLimit = 1 << 20
    /// Bytes written so far, buffered ones included.
    private(set) var position: UInt64 = 0

    /// `variant` tells apart two temporary files for the same destination.
    init(destination: String, variant: String = "") throws {
        self.destination = destination
        let url = URL(fileURLWithPath: destination)
        temporaryPath = url.deletingLastPathComponent().appendingPathComponent(TemporaryFileName.make(for: url.lastPathComponent, variant: variant)).path
        fd = open(temporaryPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw OutputError(path: destination, errno: errno) }
        buffer.reserveCapacity(bufferLimit)
    }

    deinit {
        if fd >= 0 { abandon() }
    }

    func write(_ bytes: [UInt8]) throws {
        position += UInt64(bytes.count)
        if buffer.count + bytes.count > bufferLimit { try flush() }
        if bytes.count >= bufferLimit { try writeAll(bytes) } else { buffer.append(contentsOf: bytes) }
    }

    func flush() throws {
        guard !buffer.isEmpty else { return }
        try writeAll(buffer)
        buffer.removeAll(keepingCapacity: true)
    }

    private func writeAll(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw OutputError(path: destination, errno: errno)
                }
                offset += n
            }
        }
    }

    /// Overwrites bytes at an absolute offset (which must already be written).
    func patch(_ bytes: [UInt8], at offset: UInt64) throws {
        try flush()
        try bytes.withUnsafeBytes { raw in
            var done = 0
            while done < raw.count {
                let n = pwrite(fd, raw.baseAddress! + done, raw.count - done, off_t(offset) + off_t(done))
                if n < 0 {
                    if errno == EINTR { continue }
                    throw OutputError(path: destination, errno: errno)
                }
                done += n
            }
        }
    }

    /// Flushes, closes and renames the file into place.
    func commit() throws {
        try flush()
        let status = close(fd)
        fd = -1
        guard status == 0 else {
            let code = errno
            unlink(temporaryPath)
            throw OutputError(path: destination, errno: code)
        }
        guard rename(temporaryPath, destination) == 0 else {
            let code = errno
            unlink(temporaryPath)
            throw OutputError(path: destination, errno: code)
        }
    }

    /// Closes and deletes the temporary file.
    func abandon() {
        if fd >= 0 { close(fd); fd = -1 }
        unlink(temporaryPath)
    }
}
