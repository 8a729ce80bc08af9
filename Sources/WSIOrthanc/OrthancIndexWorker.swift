import Foundation

/// Keeps the store's index current off Orthanc's change thread. Orthanc runs change callbacks one at a
/// time on one thread and forbids REST calls inside them, so the callback only records what changed
/// here, and this worker's own thread does the REST calls: new instances (a WSI instance's series is
/// indexed again half a second after its last new instance, so a pyramid arriving instance by
/// instance is indexed a few times, not once per instance), deletions, series whose frames failed to
/// read, and a full refresh every `refreshInterval` (series stored through another Orthanc on the same
/// database fire no event here).
public final class OrthancIndexWorker: @unchecked Sendable {
    let store: OrthancSlideStore
    let refreshInterval: TimeInterval
    private let condition = NSCondition()
    private var newInstances: [String] = []
    private var refreshWanted = true
    private var started = false
    private var stopping = false
    private var thread: Thread?

    public init(store: OrthancSlideStore, refreshInterval: TimeInterval) {
        self.store = store
        self.refreshInterval = max(1, refreshInterval)
    }

    /// Starts the thread (once Orthanc has started: its REST API is not ready before).
    public func start() {
        condition.withLock {
            guard !started else { return }
            started = true
            let thread = Thread { [self] in run() }
            thread.name = "dicomizer-index"
            self.thread = thread
            thread.start()
        }
    }

    public func stop() {
        condition.withLock {
            stopping = true
            condition.broadcast()
        }
    }

    /// From the change callback: cheap, no REST.
    public func instanceAdded(_ id: String) {
        condition.withLock {
            if newInstances.count < 1_000_000 { newInstances.append(id) }
            condition.broadcast()
        }
    }

    /// From the change callback: something was deleted (a patient, study, series or instance).
    public func somethingDeleted() {
        condition.withLock {
            refreshWanted = true
            condition.broadcast()
        }
    }

    private func run() {
        var lastRefresh = Date.distantPast
        while true {
            // Wait for work: new instances, a refresh wanted or due, or series whose frames failed to read.
            let stop: Bool = condition.withLock {
                while !stopping && newInstances.isEmpty && !refreshWanted && !store.hasStale
                        && Date().timeIntervalSince(lastRefresh) < refreshInterval {
                    _ = condition.wait(until: Date().addingTimeInterval(1))
                }
                return stopping
            }
            if stop { return }
            // Let a burst of new instances settle, then take them all.
            Thread.sleep(forTimeInterval: 0.5)
            let (added, wantRefresh) = condition.withLock { () -> ([String], Bool) in
                defer { newInstances.removeAll(); refreshWanted = false }
                return (newInstances, refreshWanted || Date().timeIntervalSince(lastRefresh) >= refreshInterval)
            }
            var series = store.takeStale()
            for instance in added {
                guard let sopClass = store.host.get("/instances/\(instance)/metadata/SopClassUid").map({ String(decoding: $0, as: UTF8.self) }),
                      sopClass.trimmingCharacters(in: .whitespaces) == OrthancSlideStore.wsiSOPClass,
                      let info = store.host.getJSON("/instances/\(instance)") as? [String: Any],
                      let parent = info["ParentSeries"] as? String else { continue }
                series.insert(parent)
            }
            for id in series { store.index(series: id) }
            if wantRefresh {
                store.refresh()
                lastRefresh = Date()
            }
        }
    }
}
