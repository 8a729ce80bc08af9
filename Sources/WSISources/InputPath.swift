import Foundation

/// What an input path names, asked of the file system (`stat`) before anything opens it. Opening a FIFO
/// for reading blocks until a writer comes, and reading a character device may never end, so only regular
/// files (and folders, where a format needs one) are ever opened as inputs.
public enum InputPath {
    public enum Kind: Equatable, Sendable {
        case regularFile
        case folder
        case missing
        /// A FIFO, socket or device: named for the error message.
        case special(String)
    }

    public static func kind(of path: String) -> Kind {
        var info = stat()
        guard stat(path, &info) == 0 else { return .missing }
        switch info.st_mode & S_IFMT {
        case S_IFREG: return .regularFile
        case S_IFDIR: return .folder
        case S_IFIFO: return .special("a FIFO (named pipe)")
        case S_IFSOCK: return .special("a socket")
        case S_IFCHR: return .special("a character device")
        case S_IFBLK: return .special("a block device")
        default: return .special("not a regular file")
        }
    }

    /// The error for a path that is not a regular file, or nil when it is one.
    public static func refusal(_ path: String) -> SourceError? {
        switch kind(of: path) {
        case .regularFile: return nil
        case .folder: return SourceError(path, "is a folder, not a slide file")
        case .missing: return SourceError(path, "no such file")
        case .special(let what): return SourceError(path, "is \(what), not a regular file; slides are read from regular files only")
        }
    }
}
