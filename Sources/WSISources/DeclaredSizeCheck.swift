/// Checks of what a TIFF's header declares against what a scanner makes and what the file can hold,
/// made when the file is opened, before anything is allocated from those numbers or any output written.
/// A 3 MB SVS can declare 100,000,000 x 256 pixels (its tile table of 416,667 entries fits, the tiles are
/// left out) or 1,000,000 x 1,000,000: converting either would allocate bands of tens of gigabytes.
enum DeclaredSizeCheck {
    /// The longest side any slide has: 125 mm at 0.25 µm per pixel, longer than a 75 mm glass slide.
    static let maxSide = 500_000

    /// Refuses a level whose size, tiling or tile table cannot be a slide's, or does not fit in `file`.
    static func check(_ d: TIFFDirectory, of file: TIFFFile, name: String) throws {
        let path = file.path
        guard d.width > 0, d.height > 0, d.width <= maxSide, d.height <= maxSide else {
            throw SourceError(path, "\(name) declares \(d.width) x \(d.height) pixels, a size no scanner makes (at most \(maxSide) a side)")
        }
        guard d.isTiled else { return }
        guard (16...8192).contains(d.tileWidth), (16...8192).contains(d.tileHeight) else {
            throw SourceError(path, "\(name) declares tiles of \(d.tileWidth) x \(d.tileHeight) pixels (16 to 8192 expected)")
        }
        // Each tile has an offset and a byte count of at least 4 bytes each in the file.
        let tiles = d.tilesAcross * d.tilesDown
        guard tiles * 8 <= file.size else {
            throw SourceError(path, "\(name) declares \(tiles) tiles, whose tile table alone is larger than the file (\(file.size) bytes)")
        }
        guard let table = try? file.tileTable(d.index), table.offsets.count >= tiles, table.counts.count >= tiles else {
            throw SourceError(path, "\(name) has no complete tile table for its \(tiles) tiles")
        }
        let (offsets, counts) = table
        for index in 0..<tiles where counts[index] > 0 {
            let (end, overflow) = offsets[index].addingReportingOverflow(counts[index])
            guard !overflow, end <= UInt64(file.size) else {
                throw SourceError(path, "\(name)'s tile \(index) lies past the end of the file (bytes \(offsets[index]) + \(counts[index]) of \(file.size))")
            }
        }
    }
}
