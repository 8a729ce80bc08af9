import AsyncHTTPClient
import CDCMTKShim
import Foundation
import NIOCore
import NIOHTTP1
import WSIDICOM

/// What an export did.
public struct ExportSummary: Sendable {
    public var sent = 0
    public var failed: [(path: String, reason: String)] = []
    public var bytes = 0
    public var seconds = 0.0
    public var rateMiBPerSecond: Double { seconds > 0 ? Double(bytes) / 1_048_576 / seconds : 0 }
}

/// Sends DICOM instances to a PACS by C-STORE (DCMTK, after a C-ECHO) or to a DICOMweb service by
/// STOW-RS (AsyncHTTPClient), retrying transient failures (connection refused, timeouts, 5xx).
public struct Exporter: Sendable {
    public var destination: ExportDestination
    public var callingAE = "DICOMIZER"
    public var authentication: ExportAuthentication = .none
    public var retries = 3
    public var timeoutSeconds = 30
    /// Files per STOW-RS request.
    public var stowBatch = 16

    public init(destination: ExportDestination) { self.destination = destination }

    /// The DICOM Part 10 files under a folder (any name; others skipped), sorted.
    public static func instances(in folder: String) -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory) else { return [] }
        if !isDirectory.boolValue { return DICOMFile.hasPart10Prefix(folder) ? [folder] : [] }
        var found: [String] = []
        let walker = FileManager.default.enumerator(at: URL(fileURLWithPath: folder), includingPropertiesForKeys: [.isRegularFileKey], options: [.skipsHiddenFiles])
        while let url = walker?.nextObject() as? URL {
            if (try? url.resourceValues(forKeys: [.isRegularFileKey]))?.isRegularFile == true, DICOMFile.hasPart10Prefix(url.path) { found.append(url.path) }
        }
        return found.sorted()
    }

    public func send(_ files: [String], progress: @escaping @Sendable (Int, Int) -> Void = { _, _ in }) async throws -> ExportSummary {
        let started = Date()
        var summary: ExportSummary
        switch destination {
        case .dimse(let host, let port, let ae): summary = try await cStore(files, host: host, port: port, calledAE: ae, progress: progress)
        case .dicomweb(let base): summary = try await stow(files, baseURL: base, progress: progress)
        }
        summary.seconds = Date().timeIntervalSince(started)
        return summary
    }

    /// Whether an association failure may pass (the peer not listening yet, a timeout) or is final.
    static func isTransient(_ message: String) -> Bool {
        let lower = message.lowercased()
        return lower.contains("connection refused") || lower.contains("timeout") || lower.contains("timed out")
            || lower.contains("reset by peer") || lower.contains("tcp initialization error")
    }

    func cStore(_ files: [String], host: String, port: Int, calledAE: String, progress: @escaping @Sendable (Int, Int) -> Void) async throws -> ExportSummary {
        final class Outcomes: @unchecked Sendable {
            var results: [(Int, UInt16, String?)] = []
            let progress: (Int, Int) -> Void
            let total: Int
            init(total: Int, progress: @escaping (Int, Int) -> Void) { self.total = total; self.progress = progress }
        }
        var attempt = 0
        while true {
            let outcomes = Outcomes(total: files.count, progress: progress)
            var error = [CChar](repeating: 0, count: 512)
            let status: Int32 = withCStrings(files) { paths in
                let context = Unmanaged.passUnretained(outcomes).toOpaque()
                return dcmtk_store(host, Int32(port), calledAE, callingAE, Int32(timeoutSeconds), paths, files.count, { context, index, status, message in
                    let outcomes = Unmanaged<Outcomes>.fromOpaque(context!).takeUnretainedValue()
                    outcomes.results.append((index, status, message.map { String(cString: $0) }))
                    outcomes.progress(outcomes.results.count, outcomes.total)
                }, context, &error, error.count)
            }
            let message = String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if status == 0 {
                var summary = ExportSummary()
                for (index, response, local) in outcomes.results {
                    let path = files[index]
                    if let local {
                        summary.failed.append((path, local))
                    } else if response == 0 || (response & 0xF000) == 0xB000 {
                        summary.sent += 1
                        summary.bytes += (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
                    } else {
                        summary.failed.append((path, "C-STORE refused with status 0x\(String(response, radix: 16, uppercase: true))"))
                    }
                }
                return summary
            }
            attempt += 1
            guard attempt <= retries, Self.isTransient(message) else {
                throw ExportError("dicom://\(calledAE)@\(host):\(port): \(message)")
            }
            try await Task.sleep(for: .milliseconds(500 * (1 << attempt)))
        }
    }

    func stow(_ files: [String], baseURL: String, progress: @escaping @Sendable (Int, Int) -> Void) async throws -> ExportSummary {
        var summary = ExportSummary()
        let client = HTTPClient.shared
        var done = 0
        for start in stride(from: 0, to: files.count, by: max(1, stowBatch)) {
            let chunk = Array(files[start..<min(files.count, start + max(1, stowBatch))])
            let boundary = "dicomizer-\(UUID().uuidString)"
            var body = ByteBuffer()
            var sizes: [String: Int] = [:]
            for path in chunk {
                guard let data = FileManager.default.contents(atPath: path) else {
                    summary.failed.append((path, "cannot be read"))
                    continue
                }
                sizes[path] = data.count
                body.writeString("--\(boundary)\r\nContent-Type: application/dicom\r\n\r\n")
                body.writeBytes(data)
                body.writeString("\r\n")
            }
            body.writeString("--\(boundary)--\r\n")
            var request = HTTPClientRequest(url: baseURL + "/studies")
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "multipart/related; type=\"application/dicom\"; boundary=\(boundary)")
            request.headers.add(name: "Accept", value: "application/dicom+json")
            if let header = authentication.header { request.headers.add(name: "Authorization", value: header) }
            request.body = .bytes(body)
            var attempt = 0
            while true {
                do {
                    let response = try await client.execute(request, timeout: .seconds(Int64(timeoutSeconds)))
                    let answer = try await response.body.collect(upTo: 16 << 20)
                    let code = Int(response.status.code)
                    if code >= 500 && attempt < retries {
                        attempt += 1
                        try await Task.sleep(for: .milliseconds(500 * (1 << attempt)))
                        continue
                    }
                    guard code == 200 || code == 202 || code == 409 else {
                        let detail = code == 401 || code == 403 ? "authentication refused" : String(buffer: answer).prefix(200).description
                        throw ExportError("\(baseURL): STOW-RS answered \(code) \(response.status.reasonPhrase): \(detail)")
                    }
                    let failedUIDs = Self.failedSOPInstances(answer)
                    for path in sizes.keys.sorted() {
                        let uid = (try? DICOMFile(path: path))?.dataSet.string(.sopInstanceUID) ?? ""
                        if failedUIDs.contains(uid) || (code == 409 && failedUIDs.isEmpty) {
                            summary.failed.append((path, "refused by the server (STOW-RS \(code))"))
                        } else {
                            summary.sent += 1
                            summary.bytes += sizes[path]!
                        }
                    }
                    break
                } catch let error as ExportError {
                    throw error
                } catch {
                    attempt += 1
                    guard attempt <= retries else { throw ExportError("\(baseURL): \(error)") }
                    try await Task.sleep(for: .milliseconds(500 * (1 << attempt)))
                }
            }
            done += chunk.count
            progress(done, files.count)
        }
        return summary
    }

    /// SOP Instance UIDs listed in a STOW-RS response's Failed SOP Sequence (0008,1198).
    static func failedSOPInstances(_ body: ByteBuffer) -> Set<String> {
        let bytes = body.getBytes(at: body.readerIndex, length: body.readableBytes) ?? []
        guard let json = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any],
              let failed = (json["00081198"] as? [String: Any])?["Value"] as? [[String: Any]] else { return [] }
        return Set(failed.compactMap { (($0["00081155"] as? [String: Any])?["Value"] as? [String])?.first })
    }
}

/// Runs `body` with the strings as a C array of C strings.
func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R) -> R {
    let pointers = strings.map { strdup($0) }
    defer { pointers.forEach { free($0) } }
    let constant = pointers.map { UnsafePointer<CChar>($0) }
    return constant.withUnsafeBufferPointer { body($0.baseAddress!) }
}
