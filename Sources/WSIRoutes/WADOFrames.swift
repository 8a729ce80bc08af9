import Foundation
import WSICodecs
import WSIDICOM
import WSITileService

/// WADO-RS frames (PS3.18 8.7.3 and 10.4): the stored bitstream when the Accept header allows it, else
/// the frame transcoded to what it asks for (JPEG baseline, PNG, uncompressed). Multipart when asked
/// (`multipart/related; type=...`), single part when a single frame is asked for as a bare media type.
/// 406 only when no media range of the header can be produced.
struct WADOFrames {
    let service: TileService

    /// Past this many bytes a frames response is refused (413): the route table answers with one buffer.
    static let responseBudget = 256 << 20

    /// What is sent for one frame.
    struct Choice: Equatable {
        enum Kind: Equatable {
            /// The stored bytes, untouched.
            case stored
            /// Decoded and encoded as JPEG baseline.
            case jpeg
            case png
            /// Decoded to interleaved 8-bit RGB (explicit VR little endian pixel data).
            case uncompressed
        }
        let kind: Kind
        /// The part's media type.
        let mediaType: String
        /// The transfer-syntax parameter of the part, when it has one.
        let transferSyntax: String?

        var contentType: String { transferSyntax.map { "\(mediaType); transfer-syntax=\($0)" } ?? mediaType }
    }

    static let explicitLE = TransferSyntax.explicitVRLittleEndian.rawValue
    static let jpegBaseline = TransferSyntax.jpegBaseline.rawValue

    /// The media type of a file's stored frames (PS3.18 table 8.7.3-2).
    static func storedMediaType(_ file: DICOMFile) -> String {
        switch TileService.frameEncoding(of: file) {
        case .jpeg: return "image/jpeg"
        case .jpeg2000:
            let htj2k = [TransferSyntax.htj2k.rawValue, TransferSyntax.htj2kLossless.rawValue, "1.2.840.10008.1.2.4.202"]
            return htj2k.contains(file.transferSyntaxUID) ? "image/jphc" : "image/jp2"
        case .native, .unsupported: return "application/octet-stream"
        }
    }

    static func decodable(_ file: DICOMFile) -> Bool {
        if case .unsupported = TileService.frameEncoding(of: file) { return false }
        return true
    }

    /// The transfer syntaxes we offer for a file's frames (QIDO's AvailableTransferSyntaxUID): the stored
    /// one, and uncompressed, which decoding gives without loss. JPEG baseline is not offered for other
    /// syntaxes: a client picking from this list (wsidicom does, JPEG first) would get re-compressed pixels
    /// without asking for them; it can still ask for image/jpeg.
    static func availableTransferSyntaxes(_ file: DICOMFile) -> [String] {
        var syntaxes = [file.transferSyntaxUID]
        if decodable(file) && file.transferSyntaxUID != explicitLE { syntaxes.append(explicitLE) }
        return syntaxes
    }

    /// What `type` (the part type a media range asks for) with `syntax` allows for `file`, best first.
    static func choices(type: String, syntax: String?, file: DICOMFile) -> [Choice] {
        let stored = file.transferSyntaxUID
        let storedType = storedMediaType(file)
        let storedChoice = Choice(kind: .stored, mediaType: storedType, transferSyntax: stored)
        let anySyntax = syntax == nil || syntax == "*"
        let decodable = decodable(file)
        let jpeg = decodable ? [Choice(kind: .jpeg, mediaType: "image/jpeg", transferSyntax: jpegBaseline)] : []
        let png = decodable ? [Choice(kind: .png, mediaType: "image/png", transferSyntax: nil)] : []
        let uncompressed = decodable ? [Choice(kind: .uncompressed, mediaType: "application/octet-stream", transferSyntax: explicitLE)] : []
        switch type {
        case "*/*", "*":
            guard anySyntax || syntax == stored else { return [] }
            return [storedChoice] + (anySyntax ? jpeg + png + uncompressed : [])
        case "application/octet-stream":
            // Slim asks for `transfer-syntax=*`: any syntax, in octet-stream parts.
            if syntax == "*" || syntax == stored { return [Choice(kind: .stored, mediaType: type, transferSyntax: stored)] }
            guard syntax == nil || syntax == explicitLE else { return [] }
            if storedType == "application/octet-stream" && stored == explicitLE { return [storedChoice] }
            return uncompressed
        case "image/jpeg":
            if storedType == type && (anySyntax || syntax == stored) { return [storedChoice] }
            return anySyntax || syntax == jpegBaseline ? jpeg : []
        case "image/jp2", "image/jphc", "image/jpx":
            return storedType == type && (anySyntax || syntax == stored) ? [storedChoice] : []
        case "image/png":
            return anySyntax ? png : []
        case "image/*":
            guard anySyntax || syntax == stored else { return [] }
            let first = storedType.hasPrefix("image/") ? [storedChoice] : []
            return first + (anySyntax ? (storedType == "image/jpeg" ? [] : jpeg) + png : [])
        default:
            return []
        }
    }

    /// The answer's form: multipart or single part, and what each frame becomes.
    struct Plan: Equatable {
        let multipart: Bool
        let choice: Choice
    }

    /// The first media range of `accept` that `file` can satisfy for `frameCount` frames, or a 406.
    static func plan(accept: String?, file: DICOMFile, frameCount: Int) throws -> Plan {
        let (entries, refused) = AcceptEntry.parse(accept)
        for entry in entries {
            let type = entry.partType(default: "application/octet-stream")
            // A bare media type asks for one frame as the whole body; */* keeps the multipart default.
            let multipart = entry.isMultipart || entry.mediaType == "*/*"
            guard multipart || frameCount == 1 else { continue }
            let wildcard = type.contains("*")
            let choices = choices(type: type, syntax: entry.transferSyntax, file: file)
                .filter { !wildcard || !refused.contains($0.mediaType) }
            if let choice = choices.first { return Plan(multipart: multipart, choice: choice) }
        }
        throw TileServiceError.notAcceptable(
            "frames are stored as \(storedMediaType(file)) (transfer syntax \(file.transferSyntaxUID)); ask for it, "
            + "transfer-syntax=*, image/jpeg, image/png or application/octet-stream (uncompressed)"
            + (frameCount > 1 ? "; several frames need multipart/related" : ""))
    }

    /// The frames `numbers` (from 1) of `file` as `accept` asks.
    func frames(_ file: DICOMFile, numbers: [Int], accept: String?) throws -> RouteResponse {
        let plan = try Self.plan(accept: accept, file: file, frameCount: numbers.count)
        if !plan.multipart, let number = numbers.first {
            let body = try frame(file, number - 1, as: plan.choice.kind)
            // A bare image type is what the client asked for; only octet-stream needs its syntax named.
            let type = plan.choice.mediaType == "application/octet-stream" ? plan.choice.contentType : plan.choice.mediaType
            return RouteResponse(status: 200, headers: [("Content-Type", type), ("Cache-Control", "private, max-age=3600")], body: body)
        }
        var multipart = MultipartBody()
        for number in numbers {
            let part = try frame(file, number - 1, as: plan.choice.kind)
            guard multipart.body.count + part.count <= Self.responseBudget else {
                throw TileServiceError.tooLarge("these frames are over \(Self.responseBudget >> 20) MiB; ask for fewer at a time")
            }
            multipart.append(part, contentType: plan.choice.contentType)
        }
        return multipart.response(type: plan.choice.mediaType)
    }

    /// One frame's bytes in the chosen form.
    func frame(_ file: DICOMFile, _ index: Int, as kind: Choice.Kind) throws -> Data {
        switch kind {
        case .stored: return try service.frameData(file, index)
        case .jpeg:
            if TileService.frameEncoding(of: file) == .jpeg { return try service.frameData(file, index) }
            return try service.encoded(service.decodedFrame(file, index), format: .jpeg).data
        case .png: return try service.encoded(service.decodedFrame(file, index), format: .png).data
        case .uncompressed: return Data(try service.decodedFrame(file, index).pixels)
        }
    }

    /// The frame numbers of a `frames/{list}` segment: comma-separated, 1 to the instance's count, at most 1000.
    static func frameNumbers(_ text: String, file: DICOMFile) throws -> [Int] {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false)
        guard parts.count <= 1000 else { throw TileServiceError.badRequest("at most 1000 frames per request") }
        return try parts.map { part -> Int in
            guard let n = Int(part.trimmingCharacters(in: .whitespaces)) else {
                throw TileServiceError.badRequest("frame numbers must be integers: '\(part)'")
            }
            guard n >= 1, n <= file.numberOfFrames else {
                throw TileServiceError.notFound("frame \(part) does not exist (1 to \(file.numberOfFrames))")
            }
            return n
        }
    }
}
