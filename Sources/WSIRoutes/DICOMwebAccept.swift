import Foundation

/// One media range of an Accept header, as DICOMweb uses them: `multipart/related; type="image/jpeg";
/// transfer-syntax=1.2.840.10008.1.2.4.50; q=0.9`, or a bare `image/png`, or `*/*`.
struct AcceptEntry: Sendable, Equatable {
    /// Lower-cased media range: "multipart/related", "image/jpeg", "image/*", "*/*".
    let mediaType: String
    /// Parameters by lower-cased name, values unquoted (the type and transfer-syntax are compared as written).
    let parameters: [String: String]
    /// Quality, 0 to 1 (1 when absent or unreadable); 0 means "not this".
    let q: Double

    var isMultipart: Bool { mediaType == "multipart/related" }

    /// The media type of what goes in the body (or in each part of a multipart body). A multipart range
    /// without `type` defaults to `defaultPartType` (application/octet-stream for frames and bulk data,
    /// application/dicom for instances).
    func partType(default defaultPartType: String) -> String {
        isMultipart ? (parameters["type"]?.lowercased() ?? defaultPartType) : mediaType
    }

    var transferSyntax: String? { parameters["transfer-syntax"] }

    /// The ranges of `header` with q > 0, most preferred first (ties keep the header's order), and the
    /// media types refused with q=0, which wildcards must then not produce.
    static func parse(_ header: String?) -> (accepted: [AcceptEntry], refused: Set<String>) {
        let text = (header ?? "").trimmingCharacters(in: .whitespaces)
        if text.isEmpty { return ([AcceptEntry(mediaType: "*/*", parameters: [:], q: 1)], []) }
        var entries: [AcceptEntry] = []
        for range in split(text, on: ",").prefix(64) {
            let fields = split(range, on: ";")
            guard let first = fields.first?.trimmingCharacters(in: .whitespaces).lowercased(), !first.isEmpty else { continue }
            var parameters: [String: String] = [:]
            for field in fields.dropFirst() {
                let pair = field.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                guard pair.count == 2 else { continue }
                var value = pair[1]
                if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") { value = String(value.dropFirst().dropLast()) }
                parameters[pair[0].lowercased()] = value
            }
            let q = parameters["q"].flatMap(Double.init).map { min(max($0, 0), 1) } ?? 1
            entries.append(AcceptEntry(mediaType: first, parameters: parameters, q: q))
        }
        let refused = Set(entries.filter { $0.q == 0 }.map { $0.partType(default: "application/octet-stream") })
        let accepted = entries.enumerated().filter { $0.element.q > 0 }
            .sorted { $0.element.q != $1.element.q ? $0.element.q > $1.element.q : $0.offset < $1.offset }
            .map(\.element)
        return (accepted, refused)
    }

    /// Splits on `separator` outside double quotes.
    static func split(_ text: String, on separator: Character) -> [String] {
        var parts: [String] = []
        var current = ""
        var quoted = false
        for character in text {
            if character == "\"" { quoted.toggle() }
            if character == separator && !quoted {
                parts.append(current)
                current = ""
            } else {
                current.append(character)
            }
        }
        parts.append(current)
        return parts
    }
}

/// A multipart/related body (PS3.18 8.7.3), built in memory from parts that are each bounded.
struct MultipartBody {
    let boundary = "dicomizer-\(UUID().uuidString)"
    var body = Data()

    mutating func append(_ part: Data, contentType: String, location: String? = nil) {
        var head = "--\(boundary)\r\nContent-Type: \(contentType)\r\n"
        if let location { head += "Content-Location: \(location)\r\n" }
        head += "Content-Length: \(part.count)\r\n\r\n"
        body.append(Data(head.utf8))
        body.append(part)
        body.append(Data("\r\n".utf8))
    }

    /// The finished response: the closing boundary, and a Content-Type naming the parts' type.
    func response(type: String, transferSyntax: String? = nil) -> RouteResponse {
        var closed = body
        closed.append(Data("--\(boundary)--\r\n".utf8))
        var contentType = "multipart/related; type=\"\(type)\"; boundary=\(boundary)"
        if let transferSyntax { contentType += "; transfer-syntax=\(transferSyntax)" }
        return RouteResponse(status: 200, headers: [("Content-Type", contentType), ("Cache-Control", "private, max-age=3600")], body: closed)
    }
}
