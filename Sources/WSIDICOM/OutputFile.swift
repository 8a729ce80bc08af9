import CDirectIO
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
/// when complete, so an interrupted run never leaves an output that looks whole. Supports patching bytes
/// already written (offset tables).
///
/// Bytes are staged in an aligned buffer and written a whole buffer at a time with O_DIRECT, bypassing
/// the page cache, where the file system takes it (else through the page cache, as before). A slide's
/// instances are written once and not read back by the conversion, so caching them only costs: the
/// kernel copies every byte into freshly allocated cache pages, and on virtual machines whose free
/// memory goes back to the host (virtio-balloon free page reporting) each of those pages faults in the
/// host first. Measured here: 500 MB written buffered took 2.7-5.1 s of system time, with O_DIRECT 0.06 s.
/// It also keeps a batch of many slides from evicting the page cache of everything else.
final class OutputFile {
    let destination: String
    let temporaryPath: String
    private var fd: Int32
    /// Whether writes bypass the page cache; turned off for good when the file system refuses them.
    private(set) var direct: Bool
    /// The staging buffer: `staged` bytes that belong at file offset `stagedOffset`, which is always a
    /// multiple of the alignment. Everything before it is in the file.
    private let staging: UnsafeMutableRawPointer
    private let capacity: Int
    private var staged = 0
    private var stagedOffset: UInt64 = 0
    private static let alignment = Int(DIRECT_IO_ALIGNMENT)

    /// Bytes written so far, staged ones included.
    var position: UInt64 { stagedOffset + UInt64(staged) }

    /// `variant` tells apart two temporary files for the same destination; `direct: false` keeps the
    /// page cache in the path.
    init(destination: String, variant: String = "", direct: Bool = true, capacity: Int = 1 << 20) throws {
        self.destination = destination
        let url = URL(fileURLWithPath: destination)
        temporaryPath = url.deletingLastPathComponent().appendingPathComponent(TemporaryFileName.make(for: url.lastPathComponent, variant: variant)).path
        fd = open(temporaryPath, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw OutputError(path: destination, errno: errno) }
        // Some file systems refuse O_DIRECT when it is set (tmpfs before Linux 6.6, some FUSE ones),
        // others at the first write (below).
        self.direct = direct && direct_io_set(fd, 1) == 0
        self.capacity = max(Self.alignment, capacity / Self.alignment * Self.alignment)
        var memory: UnsafeMutableRawPointer?
        guard posix_memalign(&memory, Self.alignment, self.capacity) == 0, let memory else {
            close(fd)
            unlink(temporaryPath)
            throw OutputError(path: destination, reason: "out of memory")
        }
        staging = memory
    }

    deinit {
        if fd >= 0 { abandon() }
        free(staging)
    }

    func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { raw in
            var done = 0
            while done < raw.count {
                let n = min(capacity - staged, raw.count - done)
                (staging + staged).copyMemory(from: raw.baseAddress! + done, byteCount: n)
                staged += n
                done += n
                if staged == capacity {
                    try writeOut(staging, count: capacity, at: stagedOffset)
                    stagedOffset += UInt64(capacity)
                    staged = 0
                }
            }
        }
    }

    /// Puts every byte written so far in the file, for reading it back. The whole blocks among the staged
    /// bytes leave the buffer; the last part block is written padded, the padding cut off again, and kept
    /// staged, since the next bytes belong in the same block.
    func flush() throws {
        let whole = staged / Self.alignment * Self.alignment
        if whole > 0 {
            try writeOut(staging, count: whole, at: stagedOffset)
            stagedOffset += UInt64(whole)
            staged -= whole
            staging.copyMemory(from: staging + whole, byteCount: staged)
        }
        guard staged > 0 else { return }
        (staging + staged).initializeMemory(as: UInt8.self, repeating: 0, count: Self.alignment - staged)
        try writeOut(staging, count: Self.alignment, at: stagedOffset)
        guard ftruncate(fd, off_t(position)) == 0 else { throw OutputError(path: destination, errno: errno) }
    }

    /// Overwrites bytes at an absolute offset (which must already be written): in the buffer where they
    /// are still staged, else in the file, whole blocks read, changed and written back.
    func patch(_ bytes: [UInt8], at offset: UInt64) throws {
        precondition(offset + UInt64(bytes.count) <= position, "patching bytes not yet written")
        guard !bytes.isEmpty else { return }
        try bytes.withUnsafeBytes { raw in
            let end = offset + UInt64(raw.count)
            if end > stagedOffset {
                let from = max(offset, stagedOffset)
                (staging + Int(from - stagedOffset)).copyMemory(from: raw.baseAddress! + Int(from - offset), byteCount: Int(end - from))
            }
            guard offset < stagedOffset else { return }
            let alignment = UInt64(Self.alignment)
            let first = offset / alignment * alignment
            // stagedOffset is aligned, so rounding up stays within the file.
            let last = min((end + alignment - 1) / alignment * alignment, stagedOffset)
            let count = Int(last - first)
            var memory: UnsafeMutableRawPointer?
            guard posix_memalign(&memory, Self.alignment, count) == 0, let blocks = memory else {
                throw OutputError(path: destination, reason: "out of memory")
            }
            defer { free(blocks) }
            var done = 0
            while done < count {
                let n = pread(fd, blocks + done, count - done, off_t(first) + off_t(done))
                if n < 0, errno == EINTR { continue }
                guard n > 0 else { throw OutputError(path: destination, errno: n < 0 ? errno : EIO) }
                done += n
            }
            let within = min(end, stagedOffset) - offset
            (blocks + Int(offset - first)).copyMemory(from: raw.baseAddress!, byteCount: Int(within))
            try writeOut(blocks, count: count, at: first)
        }
    }

    /// Writes whole aligned blocks at an aligned offset. Where the file system turns out to refuse
    /// O_DIRECT only when written to, the file goes on through the page cache.
    private func writeOut(_ bytes: UnsafeRawPointer, count: Int, at offset: UInt64) throws {
        var done = 0
        while done < count {
            let n = pwrite(fd, bytes + done, count - done, off_t(offset) + off_t(done))
            if n < 0 {
                let code = errno
                if code == EINTR { continue }
                if code == EINVAL, direct, direct_io_set(fd, 0) == 0 {
                    direct = false
                    continue
                }
                throw OutputError(path: destination, errno: code)
            }
            done += n
        }
    }

    /// Flushes, closes and renames the file into place.
    func commit() throws {
        try closeKeepingName()
        try moveIntoPlace()
    }

    /// Flushes and closes the file, leaving it under its temporary name.
    func closeKeepingName() throws {
        guard fd >= 0 else { return }
        try flush()
        let status = close(fd)
        fd = -1
        guard status == 0 else {
            let code = errno
            unlink(temporaryPath)
            throw OutputError(path: destination, errno: code)
        }
    }

    /// Renames the closed file into place, replacing whatever had its name.
    func moveIntoPlace() throws {
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
