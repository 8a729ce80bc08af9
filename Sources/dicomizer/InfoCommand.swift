import ArgumentParser
import Foundation
import WSIDICOM
import WSISources

struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Describe a slide file, or the DICOM WSI pyramid in a folder.")

    @Argument(help: "A slide file, or a folder of DICOM instances.") var input: String
    @Option(help: "Reader for slide files: auto (our direct readers where they apply, OpenSlide for the rest) or openslide.") var reader: SlideOpener.Reader = .auto

    func run() throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: input, isDirectory: &isDirectory), isDirectory.boolValue {
            try describeFolder()
        } else {
            do {
                try describeSlide(try SlideOpener.open(input, reader: reader))
            } catch let error as SourceError {
                throw fail(error.description)
            }
        }
    }

    private func describeSlide(_ source: any SlideSource) throws {
        let p = source.properties
        print("File:        \(source.path)")
        print("Format:      \(source.formatName)")
        for note in source.readerNotes { print("Note:        \(note)") }
        print("Size:        \(source.width) x \(source.height) pixels")
        if let x = p.mppX, let y = p.mppY {
            print("Resolution:  \(String(format: "%.4f", x)) x \(String(format: "%.4f", y)) µm/pixel")
        } else {
            print("Resolution:  unknown (set pixelSpacing in --metadata)")
        }
        if let power = p.objectivePower { print("Objective:   \(power.formatted())x") }
        if let scanner = [p.manufacturer, p.modelName, p.deviceSerialNumber].compactMap({ $0 }).joined(separator: " ") as String?, !scanner.isEmpty {
            print("Scanner:     \(scanner)")
        }
        if let date = p.acquisitionDateTime { print("Acquired:    \(date)") }
        if let barcode = p.barcode { print("Barcode:     \(barcode)") }
        print("ICC profile: \(p.iccProfile.map { "\($0.count) bytes" } ?? "none")")
        print("Levels:")
        for (i, level) in source.levels.enumerated() {
            let tiles = level.tileWidth > 0 ? "tiles \(level.tileWidth)x\(level.tileHeight)" : "no tile grid"
            print("  \(i): \(level.width) x \(level.height), \(tiles), \(level.compression)")
        }
        let associated = source.associatedImageKinds.map(\.rawValue)
        print("Associated:  \(associated.isEmpty ? "none" : associated.joined(separator: ", "))")
        if let raw = source.rawTiles {
            let codec: String
            switch raw.encoding {
            case .jpeg(let rgbCoded): codec = rgbCoded ? "JPEG, RGB components" : "JPEG, YCbCr"
            case .jpeg2000(_, let reversible): codec = reversible ? "JPEG 2000, reversible" : "JPEG 2000"
            }
            print("Tile copy:   level-0 tiles can be copied as \(raw.tileWidth)x\(raw.tileHeight) frames (\(codec))")
        } else {
            print("Tile copy:   no, level 0 will be encoded")
        }
    }

    private func describeFolder() throws {
        // Only regular files: a FIFO named *.dcm would block the read.
        let names = (try? FileManager.default.contentsOfDirectory(atPath: input))?.filter {
            $0.hasSuffix(".dcm") && InputPath.kind(of: (input as NSString).appendingPathComponent($0)) == .regularFile
        }.sorted() ?? []
        guard !names.isEmpty else { throw fail("\(input): no .dcm files in this folder") }
        var rows: [(Int, String)] = []
        var series = Set<String>()
        for name in names {
            let path = (input as NSString).appendingPathComponent(name)
            do {
                let file = try DICOMFile(path: path)
                let ds = file.dataSet
                series.insert(ds.string(.seriesInstanceUID) ?? "?")
                let type = (ds.strings(.imageType) ?? []).joined(separator: "\\")
                let w = ds.int(.totalPixelMatrixColumns) ?? ds.int(.columns) ?? 0
                let h = ds.int(.totalPixelMatrixRows) ?? ds.int(.rows) ?? 0
                let tiles = "\(ds.int(.columns) ?? 0)x\(ds.int(.rows) ?? 0)"
                let syntax = TransferSyntax(rawValue: file.transferSyntaxUID)?.name ?? file.transferSyntaxUID
                let line = "\(name): \(type), \(w) x \(h), tiles \(tiles), \(file.numberOfFrames.counted("frame")), \(syntax), \(ds.string(.photometricInterpretation) ?? "?")"
                // Pyramid levels largest first, then label, overview, thumbnail.
                let order = ["LABEL": 1, "OVERVIEW": 2, "THUMBNAIL": 3][(ds.strings(.imageType) ?? []).dropFirst(2).first ?? ""] ?? 0
                rows.append((order * 1_000_000_000_000 - w * h, line))
            } catch {
                rows.append((Int.max, "\(name): unreadable (\(error))"))
            }
        }
        print("Folder:  \(input)")
        print("Series:  \(series.sorted().joined(separator: ", "))")
        for (_, line) in rows.sorted(by: { $0.0 < $1.0 }) { print("  " + line) }
    }
}
