// libFuzzer entry point for our NDPI reading: the directory parser (64-bit offsets, McuStarts), the
// restart-interval JPEG header parser and the interval index. Any bytes must give directories, an index
// or a thrown error, never a trap. Built and run by tools/fuzz/run.sh ndpi (not part of the package build).
import Foundation
import WSICodecs

private let scratch = "/dev/shm/fuzz-ndpi-\(getpid()).ndpi"

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzNDPI(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: start, count: count))
    if let jpeg = try? RestartIntervalJPEG(header: bytes[...]) {
        let intervals = RestartIntervalJPEG.intervals(in: bytes[jpeg.header.count...])
        _ = jpeg.stream(width: jpeg.intervalWidth, height: jpeg.mcuHeight, intervals: Array(intervals.prefix(1)))
    }
    guard FileManager.default.createFile(atPath: scratch, contents: Data(bytes)), let file = try? ReadOnlyFile(path: scratch),
          let ndpi = try? NDPIFile(file: file) else { return 0 }
    // What HamamatsuSource does with an NDPI level: its single JPEG strip indexed, a few rows of intervals read.
    for level in ndpi.directories where level.compression == 7 && level.stripOffsets.count == 1 && level.stripByteCounts.count == 1 {
        let offset = level.stripOffsets[0], length = level.stripByteCounts[0]
        guard offset >= 0, length > 0, offset <= Int.max - length, level.width > 0, level.height > 0,
              level.width <= 1 << 20, level.height <= 1 << 20 else { continue }
        guard let index = try? RestartIntervalIndex(file: file, strip: offset..<(offset + length), width: level.width,
                                                   height: level.height, mcuStarts: level.mcuStarts) else { continue }
        if let intervals = try? index.intervals(rows: 0..<1) {
            _ = index.jpeg.stream(width: min(level.width, index.jpeg.intervalWidth), height: min(level.height, index.jpeg.mcuHeight),
                                  intervals: Array(intervals.prefix(1)))
        }
    }
    return 0
}
