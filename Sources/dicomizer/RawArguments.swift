import Foundation

/// The command line as the bytes it is. Linux paths are bytes, but Swift decodes `argv` as UTF-8 and
/// replaces what is not (`\xE9` in a Latin-1 name) with U+FFFD, naming a file that does not exist: such a
/// slide was reported as "no such file". An argument that is not UTF-8 and names an existing file or
/// folder is opened here by its bytes (`O_PATH`: nothing is read, a FIFO does not block) and given to the
/// commands as `/proc/self/fd/N`, which opens the same file; messages show the name as decoded. (Not for
/// `batch`, whose children could not resolve it; a batch finds such files inside the folders it is given
/// and converts them through links, `RawNameAliases`.)
enum RawArguments {
    struct Alias: Sendable {
        /// `/proc/self/fd/N`, naming the file.
        var alias: String
        /// The name as people read it (invalid bytes shown as U+FFFD).
        var shown: String
        /// `/proc/self/fd/M`, naming the folder it is in (where a default output goes), when it opens.
        var folder: String?
    }

    /// Linux's O_PATH (010000000), which Swift's Glibc module does not export: a descriptor that names
    /// the file without opening it for reading.
    private static let openPathOnly: Int32 = 0o10000000

    /// Worked out once, before any command runs.
    static let parsed: (arguments: [String], aliases: [Alias]) = {
        var arguments: [String] = []
        var aliases: [Alias] = []
        // Only for convert (the default) and info, which open what they are given in this process: a
        // batch hands its paths to child processes, to which /proc/self/fd/N means another file.
        let command = CommandLine.argc > 1 ? CommandLine.unsafeArgv[1].flatMap { String(validatingCString: $0) } : nil
        let aliasing = !["batch", "batch-job", "serve", "send"].contains(command ?? "")
        for index in 1..<Int(CommandLine.argc) {
            guard let pointer = CommandLine.unsafeArgv[index] else { continue }
            if let text = String(validatingCString: pointer) {
                arguments.append(text)
                continue
            }
            let shown = String(cString: pointer)  // repaired
            guard aliasing else {
                arguments.append(shown)
                continue
            }
            let fd = open(pointer, openPathOnly | O_CLOEXEC)
            guard fd >= 0 else {
                arguments.append(shown)
                continue
            }
            let folderFD = openParent(of: pointer)
            let alias = Alias(alias: "/proc/self/fd/\(fd)", shown: shown, folder: folderFD >= 0 ? "/proc/self/fd/\(folderFD)" : nil)
            aliases.append(alias)
            arguments.append(alias.alias)
        }
        return (arguments, aliases)
    }()

    /// Opens (`O_PATH`) the folder a path's bytes name it in: "." for a bare name.
    private static func openParent(of pointer: UnsafeMutablePointer<CChar>) -> Int32 {
        var bytes = Array(UnsafeBufferPointer(start: pointer, count: strlen(pointer)))
        while bytes.count > 1, bytes.last == CChar(UInt8(ascii: "/")) { bytes.removeLast() }
        var folder: [CChar] = [CChar(UInt8(ascii: "."))]
        if let slash = bytes.lastIndex(of: CChar(UInt8(ascii: "/"))) {
            folder = slash == 0 ? [CChar(UInt8(ascii: "/"))] : Array(bytes[..<slash])
        }
        folder.append(0)
        return open(folder, openPathOnly | O_DIRECTORY | O_CLOEXEC)
    }

    static func alias(for argument: String) -> Alias? { parsed.aliases.first { $0.alias == argument } }

    /// `text` with every alias replaced by the name it stands for, for messages.
    static func display(_ text: String) -> String {
        // Longest first, so that /proc/self/fd/1 never replaces the start of /proc/self/fd/12.
        let pairs = parsed.aliases.flatMap { alias in
            [(alias.alias, alias.shown)] + (alias.folder.map { [($0, (alias.shown as NSString).deletingLastPathComponent)] } ?? [])
        }
        return pairs.sorted { $0.0.count > $1.0.count }.reduce(text) { text, pair in
            // A bare name's folder is ".": "/proc/self/fd/4/x" reads "x".
            pair.1.isEmpty ? text.replacingOccurrences(of: pair.0 + "/", with: "") : text.replacingOccurrences(of: pair.0, with: pair.1)
        }
    }
}
