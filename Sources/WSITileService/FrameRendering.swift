import Foundation
import WSICodecs
import WSIDICOM

/// Frames of one instance decoded on their own, by file and index rather than by pyramid position:
/// DICOMweb names frames that way, and a frame must be decodable without finding its tile first.
extension TileService {
    /// The encoding of `file`'s frames, which decides what a DICOMweb client can be sent without decoding.
    public static func frameEncoding(of file: DICOMFile) -> FrameEncoding {
        FrameEncoding(transferSyntaxUID: file.transferSyntaxUID, dataSet: file.dataSet)
    }

    /// Frame `index` (from 0) of `file` as RGB at the instance's Columns x Rows (a stored frame that is
    /// larger, as padded JPEG can be, is cropped).
    public func decodedFrame(_ file: DICOMFile, _ index: Int) throws -> RGBImage {
        guard let columns = file.dataSet.int(.columns), let rows = file.dataSet.int(.rows),
              columns > 0, rows > 0, columns <= 1 << 16, rows <= 1 << 16 else {
            throw TileServiceError.failed("\(file.path) has no usable Rows and Columns")
        }
        let photometric = file.dataSet.string(.photometricInterpretation) ?? "RGB"
        let bytes = [UInt8](try frameData(file, index))
        let decoded: RGBImage
        do {
            switch Self.frameEncoding(of: file) {
            case .jpeg:
                decoded = try JPEGDecoder().decode(bytes)
            case .jpeg2000:
                decoded = try JPEG2000Codec.decode(bytes, ycbcr: photometric.hasPrefix("YBR_FULL"))
            case .native(let samples, let photometric):
                decoded = try Self.native(bytes, width: columns, height: rows, samples: samples, photometric: photometric)
            case .unsupported(let syntax):
                throw TileServiceError.unsupported("frames in transfer syntax \(syntax) cannot be decoded")
            }
        } catch let error as CodecError {
            throw TileServiceError.failed("frame \(index + 1) of \(file.path) is corrupt: \(error)")
        }
        if decoded.width == columns && decoded.height == rows { return decoded }
        return decoded.crop(x: 0, y: 0, width: columns, height: rows)
    }

    /// `image` encoded as JPEG (the service's quality) or PNG.
    public func encoded(_ image: RGBImage, format: ImageFormat) throws -> EncodedImage {
        try encode(image, format: format)
    }
}
