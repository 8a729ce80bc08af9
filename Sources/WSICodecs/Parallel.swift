import Dispatch
import Foundation
import Glibc
import Synchronization

/// Runs work items on a fixed number of threads: items are handed out one at a time, each worker touches
/// only its own state, and the first error stops the handing out.
public enum Parallel {
    public static func forEach(_ count: Int, threads: Int, _ body: @Sendable (Int) throws -> Void) throws {
        guard count > 0 else { return }
        let workers = max(1, min(threads, count))
        if workers == 1 {
            for i in 0..<count { try body(i) }
            return
        }
        let next = Atomic<Int>(0)
        let failure = Mutex<(any Error)?>(nil)
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            while true {
                let i = next.wrappingAdd(1, ordering: .relaxed).oldValue
                if i >= count || failure.withLock({ $0 != nil }) { return }
                do { try body(i) } catch {
                    failure.withLock { if $0 == nil { $0 = error } }
                    return
                }
            }
        }
        if let error = failure.withLock({ $0 }) { throw error }
    }

    /// `body` over 0..<count in parallel, results in index order.
    public static func map<T: Sendable>(_ count: Int, threads: Int, _ body: @Sendable (Int) throws -> T) throws -> [T] {
        let slots = Slots<T>(count)
        try forEach(count, threads: threads) { i in slots[i] = try body(i) }
        return slots.values
    }

    /// The number of cores, the default for every `--threads`.
    public static var coreCount: Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }
}

/// Result slots written by distinct workers at distinct indices (no two write the same slot). The
/// storage is a raw allocation: an Array's mutable-buffer access is not safe from several threads at once.
final class Slots<T: Sendable>: @unchecked Sendable {
    private let storage: UnsafeMutablePointer<T?>
    private let count: Int

    init(_ count: Int) {
        self.count = count
        storage = .allocate(capacity: max(count, 1))
        storage.initialize(repeating: nil, count: count)
    }

    deinit {
        storage.deinitialize(count: count)
        storage.deallocate()
    }

    subscript(i: Int) -> T? {
        get { storage[i] }
        set { storage[i] = newValue }
    }

    var values: [T] { (0..<count).map { storage[$0]! } }
}

/// A pool of non-thread-safe codec handles (TurboJPEG), so that each task borrows one at a time.
public final class HandlePool<Handle: AnyObject>: @unchecked Sendable {
    private let make: @Sendable () -> Handle
    private let lock = NSLock()
    private var free: [Handle] = []

    public init(_ make: @escaping @Sendable () -> Handle) { self.make = make }

    public func with<R>(_ body: (Handle) throws -> R) rethrows -> R {
        let handle = lock.withLock { free.popLast() } ?? make()
        defer { lock.withLock { free.append(handle) } }
        return try body(handle)
    }
}
