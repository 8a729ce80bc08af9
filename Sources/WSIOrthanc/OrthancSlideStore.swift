import Foundation
import WSIDICOM
import WSITileService

/// The slides Orthanc stores: every series of VL Whole Slide Microscopy instances, whoever wrote them.
///
/// Instances are indexed once (header and frame table) and kept; frames are then read straight from
/// the file Orthanc stored when its storage is an uncompressed folder on this machine (its default),
/// or through the SDK's frame route otherwise. The index is kept current by `OrthancIndexWorker` from
/// Orthanc's change events, by a periodic refresh, and by a lookup when a request names a series we do
/// not know: with several Orthancs on one database, a series stored through another one fires no event
/// here.
public final class OrthancSlideStore: SlideStore, @unchecked Sendable {
    static let wsiSOPClass = "1.2.840.10008.5.1.4.1.1.77.1.6"

    let host: OrthancHost
    /// Orthanc's storage folder, when frames may be read from its files directly.
    let storageDirectory: String?
    private let lock = NSLock()
    private var bySeriesUID: [String: Slide] = [:]
    private var ordered: [Slide] = []
    /// Orthanc series id -> Series Instance UID of the slides we hold.
    private var uidByOrthancID: [String: String] = [:]
    /// Orthanc series id -> the instance ids last indexed (empty for series with no WSI instance).
    private var indexedInstances: [String: [String]] = [:]
    /// Identifiers looked up in vain, and when: not asked again for a short while.
    private var misses: [String: Date] = [:]
    /// Orthanc series whose frames failed to read, for the worker to index again.
    private var stale: Set<String> = []

    public init(host: OrthancHost, storageDirectory: String?) {
        self.host = host
        self.storageDirectory = storageDirectory
    }

    public var slides: [Slide] { lock.withLock { ordered } }

    /// By Series Instance UID or by Orthanc's series id; looked up in Orthanc on a miss.
    public func slide(_ id: String) -> Slide? {
        let known: Slide? = lock.withLock {
            if let slide = bySeriesUID[id] { return slide }
            if let uid = uidByOrthancID[id] { return bySeriesUID[uid] }
            return nil
        }
        if let known { return known }
        return lookUp(id)
    }

    public func frameReadFailed(_ file: DICOMFile) {
        lock.withLock {
            for (orthancID, uid) in uidByOrthancID where bySeriesUID[uid]?.files.contains(where: { $0 === file }) == true {
                stale.insert(orthancID)
            }
        }
    }

    var hasStale: Bool { lock.withLock { !stale.isEmpty } }

    /// Series whose frames failed to read since the last call.
    func takeStale() -> Set<String> {
        lock.withLock {
            defer { stale.removeAll() }
            return stale
        }
    }

    /// Finds `id` in Orthanc (a Series Instance UID, or an Orthanc series id) and indexes it. Misses are
    /// remembered for two seconds so that a client asking for an unknown slide in a loop costs little.
    private func lookUp(_ id: String) -> Slide? {
        guard id.count <= 128, id.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "-") }) else { return nil }
        let recentlyMissed = lock.withLock { () -> Bool in
            if let when = misses[id], Date().timeIntervalSince(when) < 2 { return true }
            if misses.count > 10_000 { misses.removeAll() }
            return false
        }
        if recentlyMissed { return nil }
        var seriesIDs: [String] = []
        if Self.isOrthancID(id) {
            seriesIDs = [id]
        } else if let found = host.post("/tools/lookup", body: Data(id.utf8)).flatMap({ try? JSONSerialization.jsonObject(with: $0) }) as? [[String: Any]] {
            seriesIDs = found.filter { ($0["Type"] as? String) == "Series" }.compactMap { $0["ID"] as? String }
        }
        for seriesID in seriesIDs {
            if let slide = index(series: seriesID) { return slide }
        }
        lock.withLock { misses[id] = Date() }
        return nil
    }

    /// Orthanc's identifiers: five groups of eight hex digits (a SHA-1 of the DICOM UIDs).
    static func isOrthancID(_ id: String) -> Bool {
        let groups = id.split(separator: "-", omittingEmptySubsequences: false)
        return groups.count == 5 && groups.allSatisfy { $0.count == 8 && $0.allSatisfy(\.isHexDigit) }
    }

    /// Lists every SM series in Orthanc, indexes the new and changed ones and forgets the deleted.
    public func refresh() {
        let query = #"{"Level":"Series","Query":{"Modality":"SM"},"Expand":true}"#
        guard let found = host.post("/tools/find", body: Data(query.utf8)).flatMap({ try? JSONSerialization.jsonObject(with: $0) }) as? [[String: Any]] else {
            host.warning("cannot list the SM series; the index is kept as it is")
            return
        }
        var present = Set<String>()
        for series in found {
            guard let id = series["ID"] as? String else { continue }
            present.insert(id)
            let instances = ((series["Instances"] as? [String]) ?? []).sorted()
            let same = lock.withLock { indexedInstances[id] == instances }
            if !same { index(series: id) }
        }
        let gone = lock.withLock { Set(indexedInstances.keys).subtracting(present) }
        for id in gone { remove(series: id) }
    }

    /// Indexes one Orthanc series now: its WSI instances become a slide (or none).
    @discardableResult
    public func index(series orthancID: String) -> Slide? {
        guard Self.isOrthancID(orthancID), let series = host.getJSON("/series/\(orthancID)") as? [String: Any] else {
            remove(series: orthancID)
            return nil
        }
        let instances = ((series["Instances"] as? [String]) ?? []).sorted()
        let uid = (series["MainDicomTags"] as? [String: Any])?["SeriesInstanceUID"] as? String
        var files: [DICOMFile] = []
        for instance in instances where Self.isOrthancID(instance) {
            guard let sopClass = host.get("/instances/\(instance)/metadata/SopClassUid").map({ String(decoding: $0, as: UTF8.self) }),
                  sopClass.trimmingCharacters(in: .whitespaces) == Self.wsiSOPClass else { continue }
            guard let file = open(instance: instance) else { continue }
            if let problem = InstanceLimits.problem(file) {
                host.warning("skipping instance \(instance): \(problem)")
                continue
            }
            files.append(file)
        }
        let slide = uid.flatMap { uid in PyramidIndexer.slide(id: uid, files: files.filter { $0.dataSet.string(.seriesInstanceUID) == uid }) }
        lock.withLock {
            indexedInstances[orthancID] = instances
            if let old = uidByOrthancID[orthancID] { bySeriesUID[old] = nil }
            if let slide {
                uidByOrthancID[orthancID] = slide.id
                bySeriesUID[slide.id] = slide
                misses[slide.id] = nil
                misses[orthancID] = nil
            } else {
                uidByOrthancID[orthancID] = nil
            }
            ordered = bySeriesUID.values.sorted { ($0.name, $0.id) < ($1.name, $1.id) }
        }
        if let slide { host.info("indexed slide \(slide.id) (\(slide.levels.count) levels) from series \(orthancID)") }
        return slide
    }

    public func remove(series orthancID: String) {
        lock.withLock {
            indexedInstances[orthancID] = nil
            if let uid = uidByOrthancID.removeValue(forKey: orthancID) { bySeriesUID[uid] = nil }
            ordered = bySeriesUID.values.sorted { ($0.name, $0.id) < ($1.name, $1.id) }
        }
    }

    /// One instance's header and frame table: from its stored file when Orthanc keeps it whole and
    /// uncompressed under `storageDirectory`, else through the SDK (frames then come from Orthanc's
    /// frame route). A broken instance is skipped with a warning.
    func open(instance: String) -> DICOMFile? {
        if let path = storedPath(instance: instance) {
            do {
                return try DICOMFile(path: path)
            } catch {
                host.warning("instance \(instance): its stored file cannot be read directly (\(error)); trying the SDK")
            }
        }
        guard let data = host.dicom(instance: instance) else {
            host.warning("skipping instance \(instance): Orthanc gives no DICOM file for it")
            return nil
        }
        do {
            return try DICOMFile(source: MemoryByteSource(data), path: "orthanc:\(instance)", fetcher: OrthancFrameFetcher(host: host, instance: instance))
        } catch {
            host.warning("skipping instance \(instance): \(error)")
            return nil
        }
    }

    /// Where Orthanc's default storage area keeps an attachment (`xx/yy/uuid`), when that file exists
    /// with the attachment's uncompressed size (a compressed attachment has another size).
    func storedPath(instance: String) -> String? {
        guard let directory = storageDirectory,
              let info = host.getJSON("/instances/\(instance)/attachments/dicom/info") as? [String: Any],
              let uuid = info["Uuid"] as? String, uuid.count >= 4,
              uuid.allSatisfy({ $0.isHexDigit || $0 == "-" }),
              let size = (info["UncompressedSize"] as? NSNumber)?.intValue,
              (info["CompressedSize"] as? NSNumber)?.intValue == size else { return nil }
        let path = "\(directory)/\(uuid.prefix(2))/\(uuid.dropFirst(2).prefix(2))/\(uuid)"
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
              (attributes[.size] as? NSNumber)?.intValue == size else { return nil }
        return path
    }
}

/// Frames through Orthanc's REST API (`/instances/{id}/frames/{n}/raw`), which uses its storage cache,
/// for instances whose stored file we cannot read directly.
struct OrthancFrameFetcher: FrameFetcher {
    let host: OrthancHost
    let instance: String

    func frame(_ index: Int) throws -> Data {
        guard let data = host.get("/instances/\(instance)/frames/\(index)/raw") else {
            throw ByteSourceError("Orthanc gives no frame \(index + 1) of instance \(instance)")
        }
        return data
    }
}
