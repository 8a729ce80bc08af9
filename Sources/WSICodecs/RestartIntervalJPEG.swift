/// A baseline JPEG whose scan is cut by restart markers into intervals of a few MCUs, as Hamamatsu
/// scanners write whole levels: every interval starts with fresh DC predictions and ends on a byte, so
/// any rectangle of whole intervals (the same columns of several MCU rows) is itself a valid scan.
/// `stream(width:height:intervals:)` builds that smaller JPEG, which TurboJPEG decodes in one call.
public struct RestartIntervalJPEG: Sendable {
    /// The stream's header: SOI up to the end of the SOS segment.
    public let header: [UInt8]
    /// Where the SOF segment's marker sits in `header` (its height and width are patched per stream).
    private let sofOffset: Int
    public let mcuWidth: Int
    public let mcuHeight: Int
    /// MCUs per restart interval.
    public let restartInterval: Int
    /// Chroma subsampling of a three-component stream (nil for other layouts).
    public let subsampling: ChromaSubsampling?
    public var intervalWidth: Int { mcuWidth * restartInterval }

    /// Parses the header at the start of `data` (a complete stream, or at least its header).
    public init(header data: ArraySlice<UInt8>) throws {
        let bytes = Array(data)
        guard bytes.count > 4, bytes[0] == 0xFF, bytes[1] == 0xD8 else { throw CodecError("JPEG", "not a JPEG stream") }
        var i = 2
        var sof: Int?, interval = 0, sampling: [(h: Int, v: Int)] = []
        while true {
            guard i + 4 <= bytes.count, bytes[i] == 0xFF else { throw CodecError("JPEG", "broken header at byte \(i)") }
            let marker = bytes[i + 1]
            let length = Int(bytes[i + 2]) << 8 | Int(bytes[i + 3])
            guard length >= 2, i + 2 + length <= bytes.count else { throw CodecError("JPEG", "broken header segment at byte \(i)") }
            let body = bytes[(i + 4)..<(i + 2 + length)]
            switch marker {
            case 0xC0, 0xC1:
                guard body.count >= 6 else { throw CodecError("JPEG", "short frame header") }
                let components = Int(body[body.startIndex + 5])
                guard body.count >= 6 + 3 * components else { throw CodecError("JPEG", "short frame header") }
                sampling = (0..<components).map { c in
                    let factors = body[body.startIndex + 6 + 3 * c + 1]
                    return (Int(factors >> 4), Int(factors & 0x0F))
                }
                sof = i
            case 0xC2, 0xC3, 0xC5...0xC7, 0xC9...0xCB, 0xCD...0xCF:
                throw CodecError("JPEG", "not a baseline JPEG (SOF\(marker - 0xC0))")
            case 0xDD:
                guard body.count >= 2 else { throw CodecError("JPEG", "short restart interval segment") }
                interval = Int(body[body.startIndex]) << 8 | Int(body[body.startIndex + 1])
            default:
                break
            }
            i += 2 + length
            if marker == 0xDA { break }
        }
        guard let sof, !sampling.isEmpty else { throw CodecError("JPEG", "no frame header") }
        guard sampling.allSatisfy({ (1...4).contains($0.h) && (1...4).contains($0.v) }) else {
            throw CodecError("JPEG", "sampling factors out of range (1 to 4)")
        }
        guard interval > 0 else { throw CodecError("JPEG", "no restart markers") }
        header = Array(bytes[..<i])
        sofOffset = sof
        // A scan of several components is made of MCUs of the largest sampling factors; one alone, of blocks.
        mcuWidth = sampling.count > 1 ? 8 * (sampling.map(\.h).max() ?? 1) : 8
        mcuHeight = sampling.count > 1 ? 8 * (sampling.map(\.v).max() ?? 1) : 8
        restartInterval = interval
        let chroma = sampling.dropFirst()
        switch (sampling.count, sampling[0].h, sampling[0].v) {
        case (3, 1, 1) where chroma.allSatisfy({ $0 == (1, 1) }): subsampling = .s444
        case (3, 2, 1) where chroma.allSatisfy({ $0 == (1, 1) }): subsampling = .s422
        case (3, 2, 2) where chroma.allSatisfy({ $0 == (1, 1) }): subsampling = .s420
        default: subsampling = nil
        }
    }

    /// A complete stream of `width` x `height` pixels made of `intervals` (the entropy-coded bytes of each,
    /// without restart markers) in raster order: as many per row of MCUs as `width` needs, renumbered.
    /// Both sizes must fit a JPEG header (1 to 65,535).
    public func stream(width: Int, height: Int, intervals: [ArraySlice<UInt8>]) -> [UInt8] {
        precondition((1...65_535).contains(width) && (1...65_535).contains(height), "a JPEG stream is at most 65,535 pixels a side")
        var out = header
        out[sofOffset + 5] = UInt8(height >> 8); out[sofOffset + 6] = UInt8(height & 0xFF)
        out[sofOffset + 7] = UInt8(width >> 8); out[sofOffset + 8] = UInt8(width & 0xFF)
        out.reserveCapacity(header.count + intervals.reduce(2) { $0 + $1.count + 2 })
        for (index, data) in intervals.enumerated() {
            if index > 0 { out += [0xFF, 0xD0 + UInt8(truncatingIfNeeded: (index - 1) & 7)] }
            out += data
        }
        out += [0xFF, 0xD9]
        return out
    }

    /// The intervals in `data` (entropy-coded bytes that start at an interval), split at restart markers.
    /// A final marker (the range ended right after one) leaves no empty interval behind; an EOI ends it all.
    public static func intervals(in data: ArraySlice<UInt8>) -> [ArraySlice<UInt8>] {
        var result: [ArraySlice<UInt8>] = []
        var start = data.startIndex
        var i = data.startIndex
        let end = data.endIndex
        while i + 1 < end {
            if data[i] == 0xFF {
                let next = data[i + 1]
                if next & 0xF8 == 0xD0 {
                    result.append(data[start..<i])
                    i += 2
                    start = i
                    continue
                }
                if next == 0xD9 {
                    result.append(data[start..<i])
                    return result
                }
            }
            i += 1
        }
        if start < end { result.append(data[start..<end]) }
        return result
    }
}
