import Foundation

/// A file read by position (`pread`), from any number of threads at once; the descriptor is closed with it.
final class ReadOnlyFile: @unchecked Sendable {
    let path: String
    let size: Int
    private let fd: Int32

    init(path: String) throws {
        self.path = path
        fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw SourceError(path, "cannot be read: \(String(cString: strerror(errno)))") }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            close(fd)
            throw SourceError(path, "cannot be read: \(String(cString: strerror(errno)))")
        }
        size = Int(info.st_size)
    }

    deinit { close(fd) }

    /// `count` bytes at `offset`; an error when the file ends before them.
    func read(at offset: Int, count: Int) throws -> [UInt8] {
        guard offset >= 0, count >= 0, offset + count <= size else {
            throw SourceError(path, "truncated: \(count) bytes wanted at byte \(offset) of \(size)")
        }
        var failure: SourceError?
        let bytes = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            var done = 0
            while done < count {
                let n = pread(fd, buffer.baseAddress! + done, count - done, off_t(offset + done))
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else {
                    failure = SourceError(path, "read failed at byte \(offset + done): \(n < 0 ? String(cString: strerror(errno)) : "end of file")")
                    break
                }
                done += n
            }
            initialized = done
        }
        if let failure { throw failure }
        return bytes
    }
}
