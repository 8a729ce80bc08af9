import Foundation

/// Files under a folder whose paths are not UTF-8 (a Latin-1 `é` from an old scanner PC), made reachable
/// by a batch. Linux paths are bytes, but Swift strings (and so Foundation's folder walk, the job files and
/// the manifest) are UTF-8: such files were silently left out. Each one gets a symbolic link with a UTF-8
/// name, `ALIASES/<hash of the bytes>/<name as decoded>`, which the batch converts in its place; the hash
/// keeps the link's path the same from run to run (so a rerun resumes) and apart from other names that
/// decode alike.
public enum RawNameAliases {
    /// The regular files under `folder` (hidden ones skipped, as the folder walk does) whose path is not
    /// valid UTF-8, as the bytes of their path.
    static func nonUTF8Files(under folder: String) -> [[UInt8]] {
        var found: [[UInt8]] = []
        walk(Array(folder.utf8), valid: true, depth: 0, into: &found)
        return found
    }

    private static func walk(_ folder: [UInt8], valid: Bool, depth: Int, into found: inout [[UInt8]]) {
        guard depth < 64, let directory = (folder + [0]).withUnsafeBufferPointer({ $0.withMemoryRebound(to: CChar.self) { opendir($0.baseAddress!) } }) else { return }
        defer { closedir(directory) }
        while let entry = readdir(directory) {
            let name: [UInt8] = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                let bytes = raw.bindMemory(to: UInt8.self)
                return Array(bytes.prefix { $0 != 0 })
            }
            guard let first = name.first, first != UInt8(ascii: ".") else { continue }
            let path = folder + [UInt8(ascii: "/")] + name
            let nameValid = String(validating: name, as: UTF8.self) != nil
            var status = stat()
            guard (path + [0]).withUnsafeBufferPointer({ $0.withMemoryRebound(to: CChar.self) { lstat($0.baseAddress!, &status) } }) == 0 else { continue }
            switch status.st_mode & S_IFMT {
            case S_IFDIR: walk(path, valid: valid && nameValid, depth: depth + 1, into: &found)
            case S_IFREG: if !(valid && nameValid) { found.append(path) }
            default: continue
            }
        }
    }

    /// The folder that holds the links, under a batch's output root (hidden, so no folder walk takes it).
    public static let folderName = ".raw-names"

    /// What identifies `path` across machines: for a link, its hash and name (the output root before
    /// them differs from machine to machine); else the path itself.
    static func stableKey(_ path: String) -> String {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count >= 3, parts[parts.count - 3] == Substring(folderName) else { return path }
        return parts.suffix(2).joined(separator: "/")
    }

    /// A link under `aliases` for each file of `nonUTF8Files(under: folder)`, made if missing: their paths.
    public static func links(under folder: String, in aliases: String) -> [String] {
        nonUTF8Files(under: folder).compactMap { bytes in
            let shown = (String(decoding: bytes, as: UTF8.self) as NSString).lastPathComponent
            let hash = String(Fingerprint.of(bytes: bytes), radix: 16)
            let link = aliases + "/" + hash + "/" + shown
            let fm = FileManager.default
            try? fm.createDirectory(atPath: aliases + "/" + hash, withIntermediateDirectories: true)
            if (try? fm.destinationOfSymbolicLink(atPath: link)) == nil {
                let made = (bytes + [0]).withUnsafeBufferPointer { target in
                    target.withMemoryRebound(to: CChar.self) { symlink($0.baseAddress!, link) }
                }
                guard made == 0 else { return nil }
            }
            return link
        }
    }
}
