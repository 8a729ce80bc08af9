import Foundation
import Synchronization

/// Random access to the bytes of a DICOM instance: a file on disk, or a buffer in memory.
///
/// Files are read with `pread`, never memory-mapped: a mapped file that is truncated or overwritten while
/// it is served turns the next read into SIGBUS, which kills the whole process (the server, or the
/// archive a plugin runs in). A read here fails with an error instead.
public protocol ByteSource: Sendable {
    /// The size in bytes when the source was opened.
    var count: Int { get }
    /// The bytes in `range`, whole; throws when they cannot be read whole or the source has changed.
    func read(_ range: Range<Int>) throws -> Data
}

/// Why bytes could not be read.
public struct ByteSourceError: Error, CustomStringConvertible, Sendable {
    public let reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}

/// Bytes already in memory.
public struct MemoryByteSource: ByteSource {
    public let data: Data
    public init(_ data: Data) { self.data = data.startIndex == 0 ? data : Data(data) }
    public var count: Int { data.count }

    public func read(_ range: Range<Int>) throws -> Data {
        guard range.lowerBound >= 0, range.upperBound <= data.count else {
            throw ByteSourceError("bytes \(range.lowerBound)..<\(range.upperBound) lie past the end (\(data.count) bytes)")
        }
        return data[range]
    }
}

/// A file read with `pread`. Each read checks that the file's size and modification time are still
/// those seen when it was indexed, and reads the range whole: a file that was truncated or rewritten
/// since gives an error, never bytes of another version or a crash.
///
/// The descriptor is kept open after the first read, so that a tile costs an `fstat` and a `pread`
/// rather than also an `open` and a `close` (serving stored frames ran at 0.84x nginx's rate this way,
/// 0.64x opening per read). At most `keptDescriptors` are kept in the process (an eighth of the
/// descriptor limit, at most 1,024); past that, files are opened per read. A file replaced by a rename
/// is read through the old descriptor, whose bytes are the ones indexed, until the rescan indexes the
/// new one and this source is released (closing it).
public final class FileByteSource: ByteSource {
    public let path: String
    public let count: Int
    /// Modification time (seconds and nanoseconds) when opened.
    private let modified: timespec
    /// The kept descriptor: -1 before the first read, -2 when none could be kept.
    private let kept = Mutex<Int32>(-1)
    private static let keptCount = Atomic<Int>(0)
    /// How many descriptors may be kept open across reads, from the limit when first asked.
    static let keptDescriptors: Int = {
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 0 }
        return min(1024, Int(clamping: limit.rlim_cur) / 8)
    }()

    deinit { releaseDescriptor() }

    /// Closes the kept descriptor; the next read opens (and may keep) one again. `DICOMFile` calls it once
    /// the header is parsed, so that the descriptors kept are those of files whose frames are read, not of
    /// the first files indexed. Not while other threads read through this source.
    public func releaseDescriptor() {
        let fd = kept.withLock { kept -> Int32 in
            defer { kept = -1 }
            return kept
        }
        if fd >= 0 {
            close(fd)
            Self.keptCount.subtract(1, ordering: .relaxed)
        }
    }

    public init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ByteSourceError("cannot be opened (\(String(cString: strerror(errno))))") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw ByteSourceError("cannot be read (\(String(cString: strerror(errno))))") }
        guard (info.st_mode & S_IFMT) == S_IFREG else { throw ByteSourceError("is not a regular file") }
        count = Int(info.st_size)
        modified = info.st_mtim
    }

    public func read(_ range: Range<Int>) throws -> Data {
        guard range.lowerBound >= 0, range.upperBound <= count else {
            throw ByteSourceError("bytes \(range.lowerBound)..<\(range.upperBound) lie past the end (\(count) bytes)")
        }
        var data = Data(count: range.count)
        try data.withUnsafeMutableBytes { try read(range.lowerBound, into: $0) }
        return data
    }

    /// The descriptor to read through: the kept one (opened and kept on the first read while fewer than
    /// `keptDescriptors` are kept), else one opened for this read, which the caller closes (`owned`).
    private func descriptor() throws -> (fd: Int32, owned: Bool) {
        let (fd, owned) = kept.withLock { kept -> (Int32, Bool) in
            if kept >= 0 { return (kept, false) }
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { return (fd, false) }
            if kept == -1, Self.keptCount.add(1, ordering: .relaxed).newValue <= Self.keptDescriptors {
                kept = fd
                return (fd, false)
            }
            if kept == -1 { Self.keptCount.subtract(1, ordering: .relaxed) }
            kept = -2
            return (fd, true)
        }
        guard fd >= 0 else { throw ByteSourceError("cannot be opened (\(String(cString: strerror(errno))))") }
        return (fd, owned)
    }

    /// Reads `buffer.count` bytes at `offset` straight into `buffer`.
    public func read(_ offset: Int, into buffer: UnsafeMutableRawBufferPointer) throws {
        guard offset >= 0, offset + buffer.count <= count else {
            throw ByteSourceError("bytes \(offset)..<\(offset + buffer.count) lie past the end (\(count) bytes)")
        }
        let (fd, owned) = try descriptor()
        defer { if owned { close(fd) } }
        var info = stat()
        guard fstat(fd, &info) == 0, Int(info.st_size) == count, info.st_mtim.tv_sec == modified.tv_sec,
              info.st_mtim.tv_nsec == modified.tv_nsec else {
            throw ByteSourceError("has changed since it was indexed")
        }
        guard let base = buffer.baseAddress else { return }
        var done = 0
        while done < buffer.count {
            let n = pread(fd, base + done, buffer.count - done, off_t(offset + done))
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw ByteSourceError("ends early: \(done) of \(buffer.count) bytes read at \(offset)") }
            done += n
        }
    }
}

/// A window over a source for the header parser: reads ahead in 1 MiB chunks so that walking thousands
/// of small elements and fragment headers costs a few reads, not one per element.
final class ByteWindow {
    let source: any ByteSource
    private var window = Data()
    private var start = 0
    private let chunk: Int

    init(_ source: any ByteSource, chunk: Int = 1 << 20) {
        self.source = source
        self.chunk = chunk
    }

    var count: Int { source.count }

    /// `length` bytes at `offset`; throws past the end.
    func bytes(_ offset: Int, _ length: Int) throws -> Data {
        guard offset >= 0, length >= 0, offset + length <= source.count else {
            throw ByteSourceError("truncated at byte \(offset)")
        }
        if offset < start || offset + length > start + window.count {
            if length > chunk { return try source.read(offset..<(offset + length)) }
            start = offset
            window = try source.read(offset..<min(source.count, offset + chunk))
            if window.startIndex != 0 { window = Data(window) }
        }
        return window[(offset - start)..<(offset - start + length)]
    }

    func u16(_ offset: Int) throws -> Int {
        let b = try bytes(offset, 2)
        return Int(b[b.startIndex]) | Int(b[b.startIndex + 1]) << 8
    }

    func u32(_ offset: Int) throws -> Int {
        let b = try bytes(offset, 4)
        let s = b.startIndex
        return Int(b[s]) | Int(b[s + 1]) << 8 | Int(b[s + 2]) << 16 | Int(b[s + 3]) << 24
    }
}
