// libFuzzer entry point for the DICOM reader and the pyramid indexer: any bytes must give a parsed file
// or a thrown error, never a trap. Built and run by tools/fuzz/run.sh (not part of the package build).
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDICOM(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let data = Data(bytes: start, count: count)
    guard let file = try? DICOMFile(data: data, path: "fuzz.dcm") else { return 0 }
    for index in 0..<min(file.numberOfFrames, 4) { _ = try? file.frame(index) }
    for slide in PyramidIndexer.slides(from: [file]) {
        for level in slide.levels { _ = (level.tilesAcross, level.tilesDown, level.frames.count) }
        for index in slide.levels.indices { _ = slide.downsample(index) }
    }
    return 0
}
