import ArgumentParser
import Foundation
import WSIBatch
import WSIExport
import WSIPyramid
import WSISources

struct BatchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "batch",
        abstract: "Convert many slides: resumable, parallel, shardable across machines.",
        discussion: """
        INPUTS are slide files, folders (searched recursively; slides recognised by content) and @LIST files (one path per line, relative to the list). Each slide goes to OUTROOT/<name>/. OUTROOT/manifest.jsonl (manifest-shard-K-of-N.jsonl with --shard) records every outcome (input, size, checksum, status, output, instances, timings, error); running the same command again skips slides already done with unchanged content and redoes failed or interrupted ones. --shard K/N takes a deterministic 1/N of the inputs (by a hash of each path), so N machines given the same inputs split them with no coordinator. Each slide is converted in a child process, so one that crashes a reader or is killed for its memory fails alone. Exits non-zero when any slide failed.
        """)

    @Argument(help: "Slide files, folders and @list files.") var inputs: [String]
    @Option(name: .shortAndLong, help: "Output root: one folder per slide, and manifest.jsonl.") var output: String
    @Option(help: "Slides converted at the same time (the tile threads are divided between them).") var jobs = 1
    @Option(help: "This machine's share: K/N (1-based), e.g. 3/8.") var shard: String?
    @Option(help: "CSV with one row per slide: a 'file' column and patient_id, accession_number, specimen_id, ... columns.")
    var metadataCsv: String?
    @Option(help: "Reader: auto (our direct readers where they apply, OpenSlide for the rest) or openslide.") var reader: SlideOpener.Reader = .auto
    @OptionGroup var conversion: ConversionFlags
    @Option(help: "Send each slide once written: dicom://AET@host:port or a DICOMweb URL.") var send: String?
    @OptionGroup var export: ExportFlags

    func parseShard() throws -> (Int, Int)? {
        guard let shard else { return nil }
        let parts = shard.split(separator: "/").compactMap { Int($0) }
        guard parts.count == 2, parts[1] >= 1, (1...parts[1]).contains(parts[0]) else {
            throw ValidationError("--shard must be K/N with 1 <= K <= N, e.g. 2/4")
        }
        return (parts[0], parts[1])
    }

    func validate() throws {
        if jobs < 1 { throw ValidationError("--jobs must be at least 1") }
        _ = try parseShard()
    }

    func run() throws {
        // Files whose names are not UTF-8 are converted through links with UTF-8 names kept here.
        let discovery = BatchInputs.discover(inputs, aliasFolder: (output as NSString).appendingPathComponent(RawNameAliases.folderName))
        for (path, reason) in discovery.rejected { FileHandle.standardError.write(Data("dicomizer: error: \(path): \(reason)\n".utf8)) }
        var items = discovery.items
        var options = BatchOptions(outputRoot: output)
        if let (k, n) = try parseShard() {
            items = BatchInputs.shard(items, index: k, count: n)
            options.manifestName = "manifest-shard-\(k)-of-\(n).jsonl"
        }
        options.jobs = jobs
        options.childProcess = ChildProcessConverter(executable: executablePath)
        do {
            try conversion.apply(to: &options.conversion)
            options.threads = options.conversion.threads
            if let send {
                let exporter = try export.exporter(to: send)
                options.afterConversion = { folder in
                    let summary = try blocking { try await exporter.send(Exporter.instances(in: folder)) }
                    if let first = summary.failed.first {
                        throw ExportError("\(summary.failed.count) instances not sent (\(first.path): \(first.reason))")
                    }
                }
            }
            if let metadataCsv {
                let csv = try MetadataCSV(path: metadataCsv)
                options.metadataCSV = csv
                for row in csv.unmatchedRows(discovery.items.map(\.input)) {
                    FileHandle.standardError.write(Data("dicomizer: warning: metadata CSV row '\(row)' matches no input slide\n".utf8))
                }
            }
        } catch let error as MetadataCSV.ParseError {
            throw fail(error.description)
        } catch let error as MetadataError {
            throw fail(error.description)
        } catch let error as ExportError {
            throw fail(error.description)
        }
        print("batch: \(items.count) slides\(shard.map { " (shard \($0) of \(discovery.items.count))" } ?? "") -> \(output), \(options.jobs) at a time")
        let lock = NSLock()
        let runner = BatchRunner(items: items, options: options) { line in lock.withLock { print(line); fflushStandardOutput() } }
        let summary: BatchSummary
        do {
            summary = try runner.run()
        } catch {
            throw fail("\(output): \(error.localizedDescription)")
        }
        print("batch: \(summary.converted) converted, \(summary.skipped) already done, \(summary.failed) failed; manifest: \(runner.manifest.path)")
        if summary.failed > 0 || !discovery.rejected.isEmpty { throw ExitCode.failure }
    }
}

/// Runs async work to completion from a thread that may block (the batch's worker threads).
func blocking<T: Sendable>(_ work: @escaping @Sendable () async throws -> T) throws -> T {
    let box = ResultBox<T>()
    let done = DispatchSemaphore(value: 0)
    Task {
        do { box.result = .success(try await work()) } catch { box.result = .failure(error) }
        done.signal()
    }
    done.wait()
    return try box.result!.get()
}

/// A result handed from a task to the thread waiting for it (written once, before the signal).
final class ResultBox<T: Sendable>: @unchecked Sendable {
    var result: Result<T, any Error>?
}

/// Flushes standard output so that progress lines reach pipes at once (print buffers them there).
func fflushStandardOutput() {
    fflush(nil)
}
