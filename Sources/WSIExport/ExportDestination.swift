import Foundation

/// Where instances are sent: a DICOM peer (C-STORE) or a DICOMweb service (STOW-RS).
public enum ExportDestination: Sendable, Equatable, CustomStringConvertible {
    case dimse(host: String, port: Int, calledAE: String)
    case dicomweb(baseURL: String)

    /// `dicom://AET@host:port` or `http(s)://host[:port]/path` (the DICOMweb root, e.g. .../dicom-web).
    public init(_ text: String) throws {
        if text.hasPrefix("dicom://") {
            let rest = text.dropFirst("dicom://".count)
            let parts = rest.split(separator: "@", maxSplits: 1)
            guard parts.count == 2, !parts[0].isEmpty, parts[0].count <= 16 else {
                throw ExportError("\(text): expected dicom://AETITLE@host:port (AE title of at most 16 characters)")
            }
            let hostPort = parts[1].split(separator: ":")
            guard hostPort.count == 2, let port = Int(hostPort[1]), (1...65_535).contains(port), !hostPort[0].isEmpty else {
                throw ExportError("\(text): expected dicom://AETITLE@host:port")
            }
            self = .dimse(host: String(hostPort[0]), port: port, calledAE: String(parts[0]))
        } else if text.hasPrefix("http://") || text.hasPrefix("https://") {
            guard URL(string: text)?.host != nil else { throw ExportError("\(text): not a valid URL") }
            self = .dicomweb(baseURL: text.hasSuffix("/") ? String(text.dropLast()) : text)
        } else {
            throw ExportError("\(text): the destination must be dicom://AET@host:port or an http(s):// DICOMweb URL")
        }
    }

    public var description: String {
        switch self {
        case .dimse(let host, let port, let ae): return "dicom://\(ae)@\(host):\(port)"
        case .dicomweb(let url): return url
        }
    }
}

/// An export failed; the message says what and why.
public struct ExportError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Credentials for DICOMweb.
public enum ExportAuthentication: Sendable {
    case none
    case basic(user: String, password: String)
    case bearer(String)

    var header: String? {
        switch self {
        case .none: return nil
        case .basic(let user, let password): return "Basic " + Data("\(user):\(password)".utf8).base64EncodedString()
        case .bearer(let token): return "Bearer \(token)"
        }
    }
}
