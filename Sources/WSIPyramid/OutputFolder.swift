import Foundation
import WSIDICOM

/// The folder a slide's instances go to: created when missing, refused when it already holds our
/// instances (unless overwriting), and emptied of what this run wrote if the run fails.
public struct OutputFolder {
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
        }
        // Overwriting, they stay until the new instances are all complete (`replace`): a run that fails
        // must not have destroyed good output.
        earlierInstances = existing
    }

    /// Instances an earlier run left here, to be replaced once this run's are complete.
    let earlierInstances: [String]

    /// Moves this run's finished instances into place, then removes the earlier instances they did not
    /// replace (an earlier run's deeper levels or associated images this one does not write).
    func replace(with writers: [Part10Writer]) throws {
        for writer in writers { try writer.moveIntoPlace() }
        let written = Set(writers.map { ($0.path as NSString).lastPathComponent })
        for name in earlierInstances where !written.contains(name) { unlink(file(name)) }
    }

    func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }

    /// Removes the temporary files of runs that died (killed, machine lost): `.NAME.partial[-extended]-PID`
    /// whose process no longer runs. Readers that scan the folder (OpenSlide) would trip over them.
    static func removeStalePartialFiles(in folder: String) {
        for name in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [] {
            guard let pid = TemporaryFileName.owner(of: name) else { continue }
            if pid != getpid() && !isRunning(pid) {
                unlink((folder as NSString).appendingPathComponent(name))
            }
        }
    }

    /// Whether a process exists and is not a zombie: a batch's child killed with its batch stays a zombie
    /// until something reaps it, which in a container may be never.
    static func isRunning(_ pid: Int32) -> Bool {
        if kill(pid, 0) != 0 && errno == ESRCH { return false }
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return true }
        // "PID (COMMAND) STATE ...": the state follows the command, which may hold spaces and parentheses.
        return stat[close...].dropFirst(2).first != "Z"
    }
}

extension OutputFolder {
    /// Removes what a run by process `pid` that started at `started` left in `folder`: its temporary
    /// files, and the instances written since it started (a run refuses a folder holding instances unless
    /// overwriting, which removes them first, so those are all its own). For a run that cannot clean up
    /// after itself: interrupted, or a child process that crashed.
    public static func removeOutput(ofRun pid: Int32, startedAt started: Date, in folder: String) {
        let fm = FileManager.default
        for name in (try? fm.contentsOfDirectory(atPath: folder)) ?? [] {
            let path = (folder as NSString).appendingPathComponent(name)
            if TemporaryFileName.owner(of: name) == pid {
                unlink(path)
            } else if isInstanceName(name), let modified = (try? fm.attributesOfItem(atPath: path))?[.modificationDate] as? Date,
                      modified >= started.addingTimeInterval(-1) {
                unlink(path)
            }
        }
    }
}

/// A conversion failed for a reason the user can act on.
public struct ConversionError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
