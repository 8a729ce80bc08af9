import Foundation
import WSIDICOM

/// Groups DICOM WSI instances into slides: by Series Instance UID, then VOLUME instances by total pixel
/// matrix size into levels (several instances may share a level: concatenations, split levels), with each
/// frame placed by TILED_FULL order or by its TILED_SPARSE plane position.
public enum PyramidIndexer {
    public static func slides(from files: [DICOMFile]) -> [Slide] {
        var bySeries: [String: [DICOMFile]] = [:]
        for file in files {
            guard let series = file.dataSet.string(.seriesInstanceUID) else { continue }
            bySeries[series, default: []].append(file)
        }
        return bySeries.compactMap { series, files in slide(id: series, files: files) }.sorted { $0.name < $1.name }
    }

    static func imageType(_ file: DICOMFile) -> String {
        let values = file.dataSet.strings(.imageType) ?? []
        return values.count > 2 ? values[2].uppercased() : "VOLUME"
    }

    public static func slide(id: String, files: [DICOMFile]) -> Slide? {
        var volumes: [String: [DICOMFile]] = [:]
        var associated: [AssociatedKind: TiledImage] = [:]
        for file in files {
            switch imageType(file) {
            case "LABEL": if associated[.label] == nil { associated[.label] = image(from: [file]) }
            case "OVERVIEW": if associated[.overview] == nil { associated[.overview] = image(from: [file]) }
            case "THUMBNAIL": if associated[.thumbnail] == nil { associated[.thumbnail] = image(from: [file]) }
            default:
                let ds = file.dataSet
                let key = "\(ds.int(.totalPixelMatrixColumns) ?? ds.int(.columns) ?? 0)x\(ds.int(.totalPixelMatrixRows) ?? ds.int(.rows) ?? 0)"
                volumes[key, default: []].append(file)
            }
        }
        let levels = volumes.values.compactMap { image(from: $0) }.sorted { $0.width > $1.width }
        guard let base = levels.first else { return nil }
        let first = base.files[0].dataSet
        let spacing = first.items(.sharedFunctionalGroupsSequence)?.first?.items(.pixelMeasuresSequence)?.first?.doubles(.pixelSpacing)
            ?? first.doubles(.pixelSpacing)
        let name = first.string(.containerIdentifier).flatMap { $0.isEmpty ? nil : $0 }
            ?? first.string(.seriesDescription).flatMap { $0.isEmpty ? nil : $0 }
            ?? URL(fileURLWithPath: base.files[0].path).deletingLastPathComponent().lastPathComponent
        return Slide(id: id, studyInstanceUID: first.string(.studyInstanceUID) ?? "", name: name, levels: levels, associated: associated,
                     mppX: spacing.flatMap { ($0.count > 1 ? $0[1] : $0.first).map { $0 * 1000 } }, mppY: spacing?.first.map { $0 * 1000 })
    }

    /// One tiled image from the instances that share its size.
    static func image(from files: [DICOMFile]) -> TiledImage? {
        guard let first = files.first else { return nil }
        let ds = first.dataSet
        guard let tileWidth = ds.int(.columns), let tileHeight = ds.int(.rows), tileWidth > 0, tileHeight > 0 else { return nil }
        let width = ds.int(.totalPixelMatrixColumns) ?? tileWidth
        let height = ds.int(.totalPixelMatrixRows) ?? tileHeight
        let across = (width + tileWidth - 1) / tileWidth, down = (height + tileHeight - 1) / tileHeight
        guard across > 0, down > 0, across < 50_000_000 / down else { return nil }
        var frames = [FrameRef?](repeating: nil, count: across * down)
        for file in files.sorted(by: { ($0.dataSet.int(.concatenationFrameOffsetNumber) ?? 0) < ($1.dataSet.int(.concatenationFrameOffsetNumber) ?? 0) }) {
            let fds = file.dataSet
            let sparse = fds.string(.dimensionOrganizationType)?.uppercased() == "TILED_SPARSE"
            let perFrame = fds.items(.perFrameFunctionalGroupsSequence) ?? []
            if sparse || (!perFrame.isEmpty && fds.string(.dimensionOrganizationType) == nil) {
                for (index, item) in perFrame.enumerated() where index < file.numberOfFrames {
                    guard let position = item.items(.planePositionSlideSequence)?.first,
                          let x = position.int(.columnPositionInTotalImagePixelMatrix), let y = position.int(.rowPositionInTotalImagePixelMatrix) else { continue }
                    guard x >= 1, y >= 1 else { continue }
                    let col = (x - 1) / tileWidth, row = (y - 1) / tileHeight
                    guard col < across, row < down else { continue }
                    let slot = row * across + col
                    if frames[slot] == nil { frames[slot] = FrameRef(file: file, index: index) }
                }
            } else {
                let offset = fds.int(.concatenationFrameOffsetNumber) ?? 0
                guard offset >= 0 && offset < frames.count else { continue }
                for index in 0..<file.numberOfFrames {
                    let slot = offset + index
                    guard slot < frames.count else { break }
                    frames[slot] = FrameRef(file: file, index: index)
                }
            }
        }
        return TiledImage(width: width, height: height, tileWidth: tileWidth, tileHeight: tileHeight,
                          encoding: FrameEncoding(transferSyntaxUID: first.transferSyntaxUID, dataSet: ds),
                          photometric: ds.string(.photometricInterpretation) ?? "RGB", frames: frames, files: files)
    }
}
