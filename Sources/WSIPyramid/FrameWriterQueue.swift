import Dispatch
import Synchronization
import WSIDICOM

/// Appends frames to their instances on a thread of its own, so that writing one window's frames
/// overlaps decoding and encoding the next. At most `depth` windows wait, which bounds the memory their
/// frames hold; the first write error stops later writes and is thrown by the next `append` or `drain`.
///
/// A writer handed to the queue is touched only by the queue until `drain` returns.
final class FrameWriterQueue: @unchecked Sendable {
    private let queue = DispatchQueue(label: "dicomizer.frame-writer")
    private let slots: DispatchSemaphore
    private let failure = Mutex<(any Error)?>(nil)

    init(depth: Int = 2) { slots = DispatchSemaphore(value: depth) }

    func append(_ frames: [[UInt8]], to writer: Part10Writer) throws {
        if let error = failure.withLock({ $0 }) { throw error }
        slots.wait()
        let target = UncheckedWriter(writer: writer)
        queue.async { [self] in
            defer { slots.signal() }
            guard failure.withLock({ $0 == nil }) else { return }
            do {
                for frame in frames { try target.writer.append(frame: frame) }
            } catch {
                failure.withLock { if $0 == nil { $0 = error } }
            }
        }
    }

    /// Waits for every queued frame to be written; throws the first write error.
    func drain() throws {
        queue.sync {}
        if let error = failure.withLock({ $0 }) { throw error }
    }
}

/// A writer crossing to the queue's thread; safe because only that thread uses it until `drain`.
private struct UncheckedWriter: @unchecked Sendable {
    let writer: Part10Writer
}
