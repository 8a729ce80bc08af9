import Foundation

/// Picks the reader for a file by its content: TIFF-based Aperio, Philips, Leica and generic tiled TIFF go to the
/// direct libtiff reader, NDPI and single-JPEG VMS to ours where they hold up, other vendors' formats to OpenSlide, plain images
/// to `ImageFileSource`.
public enum SlideOpener {
    public enum Reader: String, Sendable, CaseIterable, Codable {
        /// Our choice by content.
        case auto
        /// Always OpenSlide, even where the direct reader could read the file.
        case openslide
    }

    public static func open(_ path: String, reader: Reader = .auto) throws -> any SlideSource {
        // Before anything opens it: a FIFO or a device would block the read below.
        if let refusal = InputPath.refusal(path) { throw refusal }
        guard let handle = FileHandle(forReadingAtPath: path) else { throw SourceError(path, "cannot be read (permission denied?)") }
        let magic = [UInt8](handle.readData(ofLength: 132))
        try? handle.close()
        guard !magic.isEmpty else { throw SourceError(path, "is empty") }

        if reader == .openslide {
            guard OpenSlideSource.vendor(of: path) != nil else { throw SourceError(path, "not a slide that OpenSlide reads") }
            return try OpenSlideSource(path: path)
        }
        let isTIFF = magic.starts(with: [0x49, 0x49, 0x2A, 0x00]) || magic.starts(with: [0x4D, 0x4D, 0x00, 0x2A])
            || magic.starts(with: [0x49, 0x49, 0x2B, 0x00]) || magic.starts(with: [0x4D, 0x4D, 0x00, 0x2B])
        if isTIFF {
            let vendor = OpenSlideSource.vendor(of: path)
            if let vendor, vendor != "aperio", vendor != "generic-tiff" {
                // Philips TIFF and Leica SCN are tiled TIFFs with their levels described in XML: read
                // directly, unless the direct reader refuses the file.
                var refusal: String?
                var openSlide: OpenSlideSource
                if let name = ["philips": "Philips TIFF", "leica": "Leica SCN"][vendor] {
                    do { return try TiledTIFFSource(path: path) } catch let direct {
                        refusal = readerNote(refusedBy: name, direct)
                        // Where OpenSlide cannot read it either, our reason says more than its.
                        guard let fallback = try? OpenSlideSource(path: path) else { throw direct }
                        openSlide = fallback
                    }
                } else {
                    openSlide = try OpenSlideSource(path: path)
                }
                // NDPI's level 0 read directly where the file holds up to the checks; else all through OpenSlide.
                if vendor == "hamamatsu" {
                    do { return try HamamatsuSource(ndpi: path, openSlide: openSlide) } catch { refusal = readerNote(refusedBy: "NDPI", error) }
                }
                if let refusal { openSlide.readerNotes.append(refusal) }
                return openSlide
            }
            let file = try TIFFFile(path: path)
            if file.directories[0].isTiled { return try TiledTIFFSource(file: file) }
            return try ImageFileSource(path: path, kind: .tiff)
        }
        if magic.starts(with: [0x89, 0x50, 0x4E, 0x47]) { return try ImageFileSource(path: path, kind: .png) }
        if magic.starts(with: [0xFF, 0xD8, 0xFF]) { return try ImageFileSource(path: path, kind: .jpeg) }
        if let vendor = OpenSlideSource.vendor(of: path) {
            let openSlide = try OpenSlideSource(path: path)
            // A VMS whose level 0 is one JPEG: read directly where it holds up to the checks, as NDPI's.
            if vendor == "hamamatsu", (path as NSString).pathExtension.lowercased() == "vms" {
                do { return try HamamatsuSource(vms: path, openSlide: openSlide) } catch {
                    openSlide.readerNotes.append(readerNote(refusedBy: "VMS", error))
                }
            }
            return openSlide
        }
        if magic.count == 132, magic[128...].elementsEqual("DICM".utf8) {
            throw SourceError(path, "is a DICOM file already (`dicomizer info` describes its folder, `dicomizer serve` serves it)")
        }
        throw SourceError(path, "not a slide: the format is not recognised (expected TIFF/SVS, a format OpenSlide reads, PNG or JPEG)")
    }

    /// The report's note when one of our direct readers refused a file OpenSlide then reads.
    private static func readerNote(refusedBy reader: String, _ error: any Error) -> String {
        let reason = (error as? SourceError)?.reason ?? "\(error)"
        return "level 0 is read through OpenSlide (slower, and no frame is copied): the direct \(reader) reader refused the file: \(reason)"
    }
}
