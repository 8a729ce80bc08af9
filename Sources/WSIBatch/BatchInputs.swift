import Foundation
import WSISources

/// One slide of a batch: where it is and the folder it goes to.
public struct BatchItem: Sendable, Equatable {
    public var input: String
    /// Folder name under the output root (unique within the batch).
    public var outputName: String
}

/// Turns the command line's inputs (files, folders searched recursively, `@list` files) into the slides
/// of a batch, recognised by content, and takes a deterministic shard of them.
public enum BatchInputs {
    public struct Discovery: Sendable {
        public var items: [BatchItem]
        /// Files named explicitly that are not slides, or paths that do not exist.
        public var rejected: [(path: String, reason: String)]
    }

    /// `aliasFolder`: where the links to files whose paths are not UTF-8 go (`RawNameAliases`); without
    /// it, such files are left out.
    public static func discover(_ arguments: [String], aliasFolder: String? = nil) -> Discovery {
        var paths: [String] = []
        var rejected: [(String, String)] = []
        let fm = FileManager.default
        for argument in arguments {
            if argument.hasPrefix("@") {
                let listPath = String(argument.dropFirst())
                guard let text = try? String(contentsOfFile: listPath, encoding: .utf8) else {
                    rejected.append((listPath, "cannot read the list file"))
                    continue
                }
                let base = URL(fileURLWithPath: listPath).deletingLastPathComponent()
                for line in text.split(whereSeparator: \.isNewline) {
                    let entry = line.trimmingCharacters(in: .whitespaces)
                    guard !entry.isEmpty, !entry.hasPrefix("#") else { continue }
                    let path = entry.hasPrefix("/") ? entry : base.appendingPathComponent(entry).path
                    if case .special(let what) = InputPath.kind(of: path) {
                        rejected.append((path, "is \(what), not a regular file"))
                        continue
                    }
                    paths.append(path)
                }
                continue
            }
            var isDirectory: ObjCBool = false
            guard fm.fileExists(atPath: argument, isDirectory: &isDirectory) else {
                rejected.append((argument, "no such file or folder"))
                continue
            }
            if isDirectory.boolValue {
                let walker = fm.enumerator(at: URL(fileURLWithPath: argument), includingPropertiesForKeys: [.isRegularFileKey], options: [.skipsHiddenFiles])
                var found: [String] = [], indexes: [String] = []
                while let url = walker?.nextObject() as? URL {
                    guard (try? url.resourceValues(forKeys: [.isRegularFileKey]))?.isRegularFile == true else { continue }
                    if looksLikeSlide(url.path) { found.append(url.path) }
                    if ["vms", "vmu", "mrxs"].contains(url.pathExtension.lowercased()) { indexes.append(url.path) }
                }
                if let aliasFolder {
                    for link in RawNameAliases.links(under: URL(fileURLWithPath: argument).standardizedFileURL.path, in: aliasFolder) {
                        if looksLikeSlide(link) { found.append(link) } else { unlink(link) }
                    }
                }
                // The JPEGs a VMS names, or the data folder beside an MRXS, are parts of that slide (readable
                // or not), never slides of their own.
                let parts = indexes.map(partsOfSlide)
                let files = Set(parts.flatMap(\.files)), folders = parts.flatMap(\.folders)
                paths += found.filter { path in
                    let standard = URL(fileURLWithPath: path).standardizedFileURL.path
                    return !files.contains(standard) && !folders.contains { standard.hasPrefix($0 + "/") }
                }.sorted()
            } else if case .special(let what) = InputPath.kind(of: argument) {
                // Reading it for its checksum would block (a FIFO) or never end (a device).
                rejected.append((argument, "is \(what), not a regular file"))
            } else {
                paths.append(argument)
            }
        }
        var seen = Set<String>()
        var items: [BatchItem] = []
        var names = Set<String>()
        for path in paths {
            let canonical = URL(fileURLWithPath: path).standardizedFileURL.path
            guard seen.insert(canonical).inserted else { continue }
            var name = URL(fileURLWithPath: canonical).deletingPathExtension().lastPathComponent
            if !names.insert(name).inserted {
                name += "-" + String(Fingerprint.of(string: canonical) % 0xFFFFFF, radix: 16)
                names.insert(name)
            }
            items.append(BatchItem(input: canonical, outputName: name))
        }
        return Discovery(items: items, rejected: rejected)
    }

    /// Whether a file is a slide we would read: TIFF, PNG or JPEG by its first bytes, or a format
    /// OpenSlide recognises (MRXS, VMS and others whose index file is not TIFF).
    public static func looksLikeSlide(_ path: String) -> Bool {
        guard let handle = FileHandle(forReadingAtPath: path) else { return false }
        let magic = [UInt8](handle.readData(ofLength: 8))
        try? handle.close()
        let signatures: [[UInt8]] = [[0x49, 0x49, 0x2A, 0x00], [0x4D, 0x4D, 0x00, 0x2A], [0x49, 0x49, 0x2B, 0x00], [0x4D, 0x4D, 0x00, 0x2B],
                                     [0x89, 0x50, 0x4E, 0x47], [0xFF, 0xD8, 0xFF]]
        if signatures.contains(where: { magic.starts(with: $0) }) { return true }
        let ext = URL(fileURLWithPath: path).pathExtension.lowercased()
        return ["mrxs", "vms", "vmu", "svslide", "bif", "scn", "ndpi"].contains(ext) && OpenSlideSource.vendor(of: path) != nil
    }

    /// The files and folders that belong to a multi-file slide (standardized paths): the image, map,
    /// optimisation and macro files a Hamamatsu VMS/VMU key file names, or the folder of an MRXS.
    static func partsOfSlide(_ path: String) -> (files: [String], folders: [String]) {
        let url = URL(fileURLWithPath: path).standardizedFileURL
        let folder = url.deletingLastPathComponent()
        switch url.pathExtension.lowercased() {
        case "vms", "vmu":
            guard let keyFile = try? VMSKeyFile(path: url.path) else { return ([], []) }
            let keys = ["ImageFile", "MapFile", "OptimisationFile", "MacroImage"]
            let files = keyFile.entries.compactMap { entry -> String? in
                guard !entry.value.isEmpty, keys.contains(where: { entry.key.hasPrefix($0) }) else { return nil }
                return folder.appendingPathComponent(entry.value).standardizedFileURL.path
            }
            return (files, [])
        case "mrxs":
            return ([], [url.deletingPathExtension().path])
        default:
            return ([], [])
        }
    }

    /// Shard `index` (1-based) of `count`: each input goes to exactly one shard, by a hash of its path, so
    /// machines given the same inputs split them with no coordinator, whatever order they list them in.
    public static func shard(_ items: [BatchItem], index: Int, count: Int) -> [BatchItem] {
        items.filter { Int(Fingerprint.of(string: RawNameAliases.stableKey($0.input)) % UInt64(count)) == index - 1 }
    }
}

/// A 64-bit FNV-1a fingerprint: of a path (for shards and names) or of a file's whole content (the
/// manifest's checksum: an unchanged input is not converted again). Not cryptographic.
public enum Fingerprint {
    public static func of(string: String) -> UInt64 { of(bytes: Array(string.utf8)) }

    static func of<Bytes: Sequence>(bytes: Bytes, seed: UInt64 = 0xcbf2_9ce4_8422_2325) -> UInt64 where Bytes.Element == UInt8 {
        var hash = seed
        for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return hash
    }

    /// The fingerprint of a file's content, read in 4 MiB chunks and mixed 8 bytes at a time (about
    /// 8x faster than byte by byte; a multi-GB slide takes a second or two).
    public static func of(file path: String) throws -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw CocoaError(.fileReadNoPermission) }
        defer { try? handle.close() }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        while true {
            let chunk = handle.readData(ofLength: 4 << 20)
            if chunk.isEmpty { break }
            hash = chunk.withUnsafeBytes { raw in
                var h = hash
                let words = raw.count / 8
                for i in 0..<words { h = (h ^ raw.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self)) &* 0x100_0000_01b3 }
                return of(bytes: raw[(words * 8)...], seed: h)
            }
        }
        return "fnv1a64:" + String(hash, radix: 16)
    }
}
