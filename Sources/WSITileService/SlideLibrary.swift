import Foundation
import Logging
import WSIDICOM

/// The slides under one folder: found by scanning it recursively for DICOM WSI instances (ours and other
/// converters'), indexed without loading pixel data, and kept current by rescanning, so new and removed
/// files are picked up without a restart. Broken or non-WSI files are skipped with one logged warning.
public final class SlideLibrary: SlideStore, @unchecked Sendable {
    public let root: String
    private let logger: Logger
    private let lock = NSLock()
    private var slidesByID: [String: Slide] = [:]
    private var ordered: [Slide] = []
    /// What each file looked like when last indexed, and what it gave.
    private var known: [String: (stamp: FileStamp, file: DICOMFile?)] = [:]
    /// Whether the last scan missed something, so that a lasting problem is logged once, not every scan.
    private var lastScanIncomplete = false

    struct FileStamp: Equatable {
        var size: Int
        var modified: Date
    }

    public init(root: String, logger: Logger = Logger(label: "dicomizer.library")) {
        self.root = (root as NSString).standardizingPath
        self.logger = logger
    }

    public var slides: [Slide] { lock.withLock { ordered } }

    public func slide(_ id: String) -> Slide? { lock.withLock { slidesByID[id] } }

    /// Scans the folder once: indexes new and changed files, forgets removed ones, regroups slides.
    /// Returns whether anything changed.
    ///
    /// A scan that could not see everything (a folder it could not open, a file it could not open because
    /// the process ran out of descriptors) forgets nothing it did not see: the slides already indexed keep
    /// serving, and what was missed is tried again at the next scan.
    @discardableResult
    public func rescan() -> Bool {
        var current: [String: FileStamp] = [:]
        var walkFailed = false
        var firstError = ""
        let keys: [URLResourceKey] = [.isRegularFileKey, .fileSizeKey, .contentModificationDateKey]
        if let walker = FileManager.default.enumerator(at: URL(fileURLWithPath: root), includingPropertiesForKeys: keys,
                                                       options: [.skipsHiddenFiles], errorHandler: { url, error in
            // What vanished during the walk is gone; what is still there was missed.
            if FileManager.default.fileExists(atPath: url.path) {
                if !walkFailed { firstError = "\(url.path): \(error.localizedDescription)" }
                walkFailed = true
            }
            return true
        }) {
            for case let url as URL in walker {
                guard let values = try? url.resourceValues(forKeys: Set(keys)), values.isRegularFile == true else { continue }
                current[url.path] = FileStamp(size: values.fileSize ?? 0, modified: values.contentModificationDate ?? .distantPast)
            }
        } else {
            walkFailed = FileManager.default.fileExists(atPath: root)
        }
        let previous = lock.withLock { known }
        var next: [String: (stamp: FileStamp, file: DICOMFile?)] = [:]
        var changed = false
        var retries = 0
        for (path, stamp) in current {
            if let old = previous[path], old.stamp == stamp {
                next[path] = old
                continue
            }
            switch index(path) {
            case .indexed(let file):
                changed = true
                next[path] = (stamp, file)
            case .retryLater:
                // Keep what served until now (its stamp stays stale, so it is tried again).
                retries += 1
                if let old = previous[path] { next[path] = old }
            }
        }
        if walkFailed {
            for (path, old) in previous where next[path] == nil { next[path] = old }
        }
        let incomplete = walkFailed || retries > 0
        let wasIncomplete = lock.withLock {
            defer { lastScanIncomplete = incomplete }
            return lastScanIncomplete
        }
        if incomplete != wasIncomplete {
            if incomplete {
                let reason = walkFailed ? firstError : "\(retries) file\(retries == 1 ? "" : "s") could not be opened"
                logger.warning("the scan of \(root) is incomplete (\(reason)): the slides already indexed are kept, and the scan is repeated")
            } else {
                logger.info("the scan of \(root) is complete again")
            }
        }
        changed = changed || Set(next.keys) != Set(previous.keys)
        guard changed else { return false }
        let slides = PyramidIndexer.slides(from: next.values.compactMap(\.file))
        lock.withLock {
            known = next
            ordered = slides
            slidesByID = Dictionary(slides.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        }
        let instances = next.values.filter { $0.file != nil }.count
        logger.info("indexed \(slides.count) slide\(slides.count == 1 ? "" : "s") from \(instances) instance\(instances == 1 ? "" : "s") under \(root)")
        return true
    }

    /// A frame of `file` could not be read (truncated or replaced): index it again at the next rescan. Until
    /// then it stays as it is, so that a read that failed for want of descriptors does not drop the slide.
    public func frameReadFailed(_ file: DICOMFile) {
        lock.withLock {
            if let entry = known[file.path] { known[file.path] = (FileStamp(size: -1, modified: .distantPast), entry.file) }
        }
    }

    enum IndexResult {
        /// The instance, or nil when the file is not a usable WSI instance.
        case indexed(DICOMFile?)
        /// The file could not be opened for a reason of this process (out of descriptors or memory), not of the file.
        case retryLater
    }

    /// Whether `path` cannot be opened now for a reason that says nothing about the file.
    static func openFailsTransiently(_ path: String) -> Bool {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd >= 0 {
            close(fd)
            return false
        }
        return [EMFILE, ENFILE, ENOMEM, EAGAIN, EINTR].contains(errno)
    }

    /// Reads one file's header and frame index; nil (with a warning for broken DICOM) when it is not a WSI instance.
    private func index(_ path: String) -> IndexResult {
        guard DICOMFile.hasPart10Prefix(path) else {
            if Self.openFailsTransiently(path) { return .retryLater }
            logger.debug("skipping \(path): not a DICOM file")
            return .indexed(nil)
        }
        do {
            let file = try DICOMFile(path: path)
            guard file.dataSet.string(.sopClassUID) == UID.vlWholeSlideMicroscopyImageStorage else { return .indexed(nil) }
            guard file.numberOfFrames > 0 else {
                logger.warning("skipping \(path): no frames")
                return .indexed(nil)
            }
            if let problem = InstanceLimits.problem(file) {
                logger.warning("skipping \(path): \(problem)")
                return .indexed(nil)
            }
            return .indexed(file)
        } catch {
            if Self.openFailsTransiently(path) { return .retryLater }
            logger.warning("skipping \(path): \(error)")
            return .indexed(nil)
        }
    }

    /// Rescans every `interval` until the task is cancelled.
    public func watch(every interval: Duration) async {
        while !Task.isCancelled {
            try? await Task.sleep(for: interval)
            if Task.isCancelled { break }
            rescan()
        }
    }
}
