import Foundation

/// A Hamamatsu VMS/VMU key file: `Key=Value` lines naming the slide's other files (`ImageFile`, `MapFile`,
/// `OptimisationFile`, `MacroImage`, `ImageFile(x,y)` for a grid) and its layout (`NoJpegColumns`, ...).
public struct VMSKeyFile: Sendable {
    /// The key file's entries in their order, keys and values trimmed.
    public let entries: [(key: String, value: String)]

    public init(path: String) throws {
        guard let text = try? String(contentsOfFile: path, encoding: .isoLatin1) else { throw SourceError(path, "the key file cannot be read") }
        entries = text.split(whereSeparator: \.isNewline).compactMap { line in
            let pair = line.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            return pair.count == 2 ? (pair[0], pair[1]) : nil
        }
    }

    /// The value of the first entry with this key.
    public subscript(key: String) -> String? { entries.first { $0.key == key }?.value }
}
