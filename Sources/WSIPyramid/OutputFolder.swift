import Foundation
import WSIDICOM

/// The folder a slide's instances go to: created when missing, refused when it already holds our
/// instances (unless overwriting), and emptied of what this run wrote if the run fails.
struct OutputFolder {
    let path: String

    /// The names this project gives instances: level-N.dcm, label.dcm, overview.dcm, thumbnail.dcm.
    static func isInstanceName(_ name: String) -> Bool {
        guard name.hasSuffix(".dcm") else { return false }
        let stem = name.dropLast(4)
        if ["label", "overview", "thumbnail"].contains(stem) { return true }
        return stem.hasPrefix("level-") && !stem.dropFirst(6).isEmpty && stem.dropFirst(6).allSatisfy(\.isNumber)
    }

    init(path: String, overwrite: Bool) throws {
        self.path = path
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        if fm.fileExists(atPath: path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else { throw ConversionError("output \(path) exists and is not a folder") }
        } else {
            do {
                try fm.createDirectory(atPath: path, withIntermediateDirectories: true)
            } catch {
                throw ConversionError("cannot create output folder \(path): \((error as NSError).localizedFailureReason ?? error.localizedDescription)")
            }
        }
        guard access(path, W_OK) == 0 else { throw ConversionError("output folder \(path) is not writable") }
        Self.removeStalePartialFiles(in: path)
        let existing = try fm.contentsOfDirectory(atPath: path).filter(Self.isInstanceName)
        if !existing.isEmpty {
            guard overwrite else {
                throw ConversionError("output folder \(path) already holds DICOM instances (\(existing.sorted().joined(separator: ", "))); use --overwrite to replace them")
            }
            for name in existing { try? fm.removeItem(atPath: file(name)) }
        }
    }

    func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }

    /// Removes the temporary files of runs that died (killed, machine lost): `.NAME.partial[-extended]-PID`
    /// whose process no longer exists. Readers that scan the folder (OpenSlide) would trip over them.
    static func removeStalePartialFiles(in folder: String) {
        for name in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [] {
            guard let pid = TemporaryFileName.owner(of: name) else { continue }
            if pid != getpid() && kill(pid, 0) != 0 && errno == ESRCH {
                unlink((folder as NSString).appendingPathComponent(name))
            }
        }
    }
}

/// A conversion failed for a reason the user can act on.
public struct ConversionError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
