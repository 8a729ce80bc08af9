// libFuzzer entry point for the vendors' XML descriptions that decide how a TIFF is read: Philips TIFF's
// DPUfsImport document and Leica SCN's collection. Any text must give a description, nil or a thrown
// refusal, never a trap. Built and run by tools/fuzz/run.sh vendor (not part of the package build).
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzVendorDescription(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: start, count: count), as: UTF8.self)
    if let philips = PhilipsDescription(text) {
        // What TiledTIFFSource does with the downsamples: level sizes from level 0's.
        for downsample in philips.downsamples where downsample >= 1 { _ = Int((Double(1 << 20) / downsample).rounded(.up)) }
    }
    if let scn = try? SCNDescription(text) {
        _ = scn.main.map { $0.width * 0 + $0.directory }
    }
    return 0
}
