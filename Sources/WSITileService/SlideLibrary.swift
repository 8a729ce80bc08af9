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
    @discardableResult
    public func rescan() -> Bool {
        var current: [String: FileStamp] = [:]
        let fm = FileManager.default
        if let walker = fm.enumerator(at: URL(fileURLWithPath: root), includingPropertiesForKeys: [.isRegularFileKey, .fileSizeKey, .contentModificationDateKey],
                                      options: [.skipsHiddenFiles]) {
            for case let url as URL in walker {
                guard let values = try? url.resourceValues(forKeys: [.isRegularFileKey, .fileSizeKey, .contentModificationDateKey]),
                      values.isRegularFile == true else { continue }
                current[url.path] = FileStamp(size: values.fileSize ?? 0, modified: values.contentModificationDate ?? .distantPast)
            }
        }
        let previous = lock.withLock { known }
        var next: [String: (stamp: FileStamp, file: DICOMFile?)] = [:]
        var changed = previous.count != current.count
        for (path, stamp) in current {
            if let old = previous[path], old.stamp == stamp {
                next[path] = old
                continue
            }
            changed = true
            next[path] = (stamp, index(path))
        }
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

    /// A frame of `file` could not be read (truncated or replaced): index it again at the next rescan.
    public func frameReadFailed(_ file: DICOMFile) {
        lock.withLock { _ = known.removeValue(forKey: file.path) }
    }

    /// Reads one file's header and frame index; nil (with a warning for broken DICOM) when it is not a WSI instance.
    private func index(_ path: String) -> DICOMFile? {
        guard DICOMFile.hasPart10Prefix(path) else {
            logger.debug("skipping \(path): not a DICOM file")
            return nil
        }
        do {
            let file = try DICOMFile(path: path)
            guard file.dataSet.string(.sopClassUID) == UID.vlWholeSlideMicroscopyImageStorage else { return nil }
            guard file.numberOfFrames > 0 else {
                logger.warning("skipping \(path): no frames")
                return nil
            }
            if let problem = InstanceLimits.problem(file) {
                logger.warning("skipping \(path): \(problem)")
                return nil
            }
            return file
        } catch {
            logger.warning("skipping \(path): \(error)")
            return nil
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
