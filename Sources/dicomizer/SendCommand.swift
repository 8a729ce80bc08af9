import ArgumentParser
import Foundation
import WSIExport
import WSIPyramid

/// How to reach the PACS: shared by `send`, and by `convert` and `batch` through `--send`.
struct ExportFlags: ParsableArguments {
    @Option(help: "Our AE title for C-STORE.") var callingAe = "DICOMIZER"
    @Option(help: "DICOMweb basic authentication: USER:PASSWORD.") var user: String?
    @Option(help: "DICOMweb bearer token.") var bearer: String?
    @Option(help: "Retries of transient failures (connection refused, timeouts, 5xx).") var retries = 3
    @Option(help: "Network timeout in seconds.") var timeout = 30

    func validate() throws {
        if user != nil && bearer != nil { throw ValidationError("give --user or --bearer, not both") }
        if let user, !user.contains(":") { throw ValidationError("--user must be USER:PASSWORD") }
        if callingAe.isEmpty || callingAe.count > 16 { throw ValidationError("--calling-ae must be 1 to 16 characters") }
        if retries < 0 || timeout < 1 { throw ValidationError("--retries must be 0 or more and --timeout at least 1") }
    }

    func exporter(to destination: String) throws -> Exporter {
        var exporter = Exporter(destination: try ExportDestination(destination))
        exporter.callingAE = callingAe
        exporter.retries = retries
        exporter.timeoutSeconds = timeout
        if let user {
            let parts = user.split(separator: ":", maxSplits: 1)
            exporter.authentication = .basic(user: String(parts[0]), password: parts.count > 1 ? String(parts[1]) : "")
        } else if let bearer {
            exporter.authentication = .bearer(bearer)
        }
        return exporter
    }
}

/// Sends a folder's instances and prints what happened; throws when any failed.
func sendFolder(_ folder: String, with exporter: Exporter, quiet: Bool) async throws -> ExportSummary {
    let files = Exporter.instances(in: folder)
    guard !files.isEmpty else { throw ExportError("\(folder): no DICOM files to send") }
    let bar = ProgressBar(enabled: !quiet, unit: "instances")
    let summary = try await exporter.send(files) { done, total in bar.update(ConversionProgress(stage: "send", done: done, total: total)) }
    bar.finish()
    for (path, reason) in summary.failed { FileHandle.standardError.write(Data("dicomizer: error: \(path): \(reason)\n".utf8)) }
    print("Sent \(summary.sent) of \(files.count) instances to \(exporter.destination) (\(String(format: "%.1f", Double(summary.bytes) / 1_048_576)) MiB, "
          + "\(String(format: "%.1f", summary.rateMiBPerSecond)) MiB/s), \(summary.failed.count) failed")
    return summary
}

struct SendCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "send",
        abstract: "Send DICOM instances to a PACS (C-STORE) or a DICOMweb service (STOW-RS).",
        discussion: """
        --to dicom://AETITLE@host:port sends by C-STORE through DCMTK after a C-ECHO, proposing each file's own transfer syntax; --to http(s)://host/dicom-web stores by STOW-RS. Transient failures are retried.
        """)

    @Argument(help: "A folder (searched recursively) or a file.") var folder: String
    @Option(help: "dicom://AET@host:port or the DICOMweb root URL.") var to: String
    @OptionGroup var export: ExportFlags
    @Flag(name: .shortAndLong, help: "No progress output.") var quiet = false

    func run() async throws {
        do {
            let summary = try await sendFolder(folder, with: try export.exporter(to: to), quiet: quiet)
            if !summary.failed.isEmpty { throw ExitCode.failure }
        } catch let error as ExportError {
            throw fail(error.description)
        }
    }
}
