import Foundation
import ServiceLifecycle
import Synchronization

/// The request log of `dicomizer serve`: one line per request (method, path, status), in swift-log's
/// stream format, gathered in memory and written to a file descriptor (standard error) once 64 KiB have
/// gathered or within a second (`run`), like nginx's `access_log FILE buffer=64k flush=1s`. Through
/// swift-log each line cost a local-time conversion, a formatted dictionary and a write and flush of its
/// own: more than answering a ready tile.
///
/// One buffer behind a lock: with one event loop per core the lock is rarely contended, and a full
/// buffer is written while it is held, so lines keep their order.
public final class AccessLog: Sendable {
    /// Bytes gathered before they are written.
    public static let bufferSize = 64 << 10

    private struct Pending {
        var bytes: [UInt8] = []
        /// False once `run` has ended: every line is written at once.
        var buffering = true
        /// The second `stamp` was formatted for.
        var second = -1
        var stamp: [UInt8] = []
    }

    private let pending = Mutex(Pending())
    private let descriptor: Int32
    /// " info LABEL:", between the time stamp and the metadata.
    private let level: [UInt8]

    /// Lines go to `descriptor` (standard error by default), labelled as swift-log labels them.
    public init(descriptor: Int32 = STDERR_FILENO, label: String = "dicomizer") {
        self.descriptor = descriptor
        level = Array(" info \(label):".utf8)
        pending.withLock { $0.bytes.reserveCapacity(Self.bufferSize + 1024) }
    }

    /// Records a request: `2026-12-04T21:57:37+0000 info dicomizer: hb.request.method=GET
    /// hb.request.path=/api/slides hb.response.status=200 [WSITileServer] Request`. Control characters
    /// and backslashes in the path are written as `\xNN`, so a line is always one line.
    public func record(method: String, path: String, status: Int) {
        pending.withLock { state in
            let now = time(nil)
            if now != state.second {
                state.second = now
                state.stamp = Self.stamp(now)
            }
            state.bytes.append(contentsOf: state.stamp)
            state.bytes.append(contentsOf: level)
            Self.append(" hb.request.method=", to: &state.bytes)
            Self.appendEscaped(method, to: &state.bytes)
            Self.append(" hb.request.path=", to: &state.bytes)
            Self.appendEscaped(path, to: &state.bytes)
            Self.append(" hb.response.status=", to: &state.bytes)
            state.bytes.append(contentsOf: String(status).utf8)
            Self.append(" [WSITileServer] Request\n", to: &state.bytes)
            if !state.buffering || state.bytes.count >= Self.bufferSize { write(&state.bytes) }
        }
    }

    /// Writes what has gathered.
    public func flush() {
        pending.withLock { write(&$0.bytes) }
    }

    /// Writes what has gathered every `interval` until the task is cancelled; then writes the rest, and
    /// every later line at once.
    public func run(every interval: Duration = .seconds(1)) async {
        while !Task.isCancelled {
            try? await Task.sleep(for: interval)
            flush()
        }
        pending.withLock { state in
            state.buffering = false
            write(&state.bytes)
        }
    }

    /// Writes `bytes` whole (a failed write drops them: a log must not stop the server) and empties it.
    private func write(_ bytes: inout [UInt8]) {
        bytes.withUnsafeBytes { all in
            var done = 0
            while done < all.count {
                let n = Foundation.write(descriptor, all.baseAddress! + done, all.count - done)
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { break }
                done += n
            }
        }
        bytes.removeAll(keepingCapacity: true)
    }

    private static func stamp(_ seconds: Int) -> [UInt8] {
        var seconds = seconds
        var parts = tm()
        localtime_r(&seconds, &parts)
        var text = [CChar](repeating: 0, count: 64)
        let count = strftime(&text, text.count, "%Y-%m-%dT%H:%M:%S%z", &parts)
        return text[..<count].map { UInt8(bitPattern: $0) }
    }

    private static func append(_ text: StaticString, to bytes: inout [UInt8]) {
        bytes.append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    private static func appendEscaped(_ text: String, to bytes: inout [UInt8]) {
        let hex = Array("0123456789abcdef".utf8)
        for byte in text.utf8 {
            if byte < 0x20 || byte == 0x7F || byte == UInt8(ascii: "\\") {
                bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "x"), hex[Int(byte >> 4)], hex[Int(byte & 15)]])
            } else {
                bytes.append(byte)
            }
        }
    }
}

/// Runs an access log's writer (`AccessLog.run`) while the server runs; on graceful shutdown the lines
/// gathered are written.
struct AccessLogWriter: Service {
    let log: AccessLog

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await log.run()
        }
    }
}
