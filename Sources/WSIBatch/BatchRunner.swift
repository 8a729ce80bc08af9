import Foundation
import WSICodecs
import WSIDICOM
import WSIPyramid
import WSISources

/// How a batch runs: where outputs go, how many slides at once, and the conversion settings they share.
public struct BatchOptions: Sendable {
    public var outputRoot: String
    /// Slides converted at the same time; the tile threads are divided between them.
    public var jobs = 1
    public var threads = Parallel.coreCount
    /// Settings every slide shares (its output folder and metadata are set per slide).
    public var conversion: ConversionOptions
    public var metadataCSV: MetadataCSV?
    public var reader: SlideOpener.Reader = .auto
    /// Runs on each slide's output folder once it is written (the CLI's `--send`); a throw marks the slide
    /// failed, so the next run converts and sends it again.
    public var afterConversion: (@Sendable (String) throws -> Void)?
    /// The manifest's file name in the output root: one per shard, so machines sharing the root never
    /// append to the same file.
    public var manifestName = "manifest.jsonl"
    /// Where each slide is converted: in a child process of its own (the CLI's choice), or, when nil, in
    /// this one.
    public var childProcess: ChildProcessConverter?

    public init(outputRoot: String) {
        self.outputRoot = outputRoot
        conversion = ConversionOptions(outputDirectory: outputRoot)
    }
}

/// What a batch run did.
public struct BatchSummary: Sendable {
    public var converted = 0
    public var skipped = 0
    public var failed = 0
    public var total: Int { converted + skipped + failed }
}

/// Converts the slides of a batch, several at a time: each to its own folder, one failure never stopping
/// the others, every outcome appended to the manifest; slides already done with the same content are
/// skipped, failed and interrupted ones are converted again.
public final class BatchRunner: Sendable {
    public let items: [BatchItem]
    public let options: BatchOptions
    public let manifest: Manifest
    private let log: @Sendable (String) -> Void

    public init(items: [BatchItem], options: BatchOptions, log: @escaping @Sendable (String) -> Void) {
        self.items = items
        self.options = options
        manifest = Manifest(path: (options.outputRoot as NSString).appendingPathComponent(options.manifestName))
        self.log = log
    }

    public func run() throws -> BatchSummary {
        try FileManager.default.createDirectory(atPath: options.outputRoot, withIntermediateDirectories: true)
        let previous = manifest.latest()
        let jobs = max(1, min(options.jobs, items.count))
        let threadsPerJob = max(1, options.threads / jobs)
        let outcomes = try Parallel.map(items.count, threads: jobs) { index -> ManifestRecord.Status in
            self.process(self.items[index], previous: previous[self.items[index].input], threads: threadsPerJob, number: index + 1)
        }
        var summary = BatchSummary()
        for outcome in outcomes {
            switch outcome {
            case .done: summary.converted += 1
            case .skipped: summary.skipped += 1
            case .failed: summary.failed += 1
            }
        }
        return summary
    }

    private func process(_ item: BatchItem, previous: ManifestRecord?, threads: Int, number: Int) -> ManifestRecord.Status {
        let name = URL(fileURLWithPath: item.input).lastPathComponent
        let prefix = "[\(number)/\(items.count)] \(name)"
        let output = (options.outputRoot as NSString).appendingPathComponent(item.outputName)
        let started = Date()
        var record = ManifestRecord(input: item.input, size: 0, checksum: "", status: .failed, output: output, instances: 0, seconds: 0,
                                    error: nil, warnings: nil, finishedAt: "")
        do {
            // Through links too (the aliases of names that are not UTF-8).
            var status = stat()
            record.size = stat(item.input, &status) == 0 ? Int(status.st_size) : 0
            record.checksum = try Fingerprint.of(file: item.input)
            if let previous, previous.status == .done, previous.checksum == record.checksum, previous.output == output,
               Self.instanceCount(output) == previous.instances {
                log("\(prefix): already done, skipped")
                return .skipped
            }
            var conversion = options.conversion
            conversion.outputDirectory = output
            conversion.overwrite = true
            conversion.threads = threads
            var warnings: [String] = []
            if let csv = options.metadataCSV {
                if let row = csv.metadata(for: item.input) {
                    conversion.metadata = conversion.metadata.merging(row)
                } else {
                    warnings.append("no row in the metadata CSV for \(name)")
                }
            }
            let job = SlideJob(input: item.input, reader: options.reader, options: conversion)
            let report = try options.childProcess.map { try $0.run(job, scratchFolder: options.outputRoot) } ?? job.run()
            try options.afterConversion?(output)
            record.status = .done
            record.instances = report.instances.count
            warnings += report.warnings
            record.warnings = warnings.isEmpty ? nil : warnings
            log("\(prefix): \(report.instances.count) instances in \(String(format: "%.1f", Date().timeIntervalSince(started))) s"
                + (warnings.isEmpty ? "" : " (warning: \(warnings.joined(separator: "; ")))"))
        } catch {
            record.status = .failed
            record.error = "\(error)"
            log("\(prefix): failed: \(error)")
            // Leave no empty folder behind for a slide that produced nothing.
            if (try? FileManager.default.contentsOfDirectory(atPath: output))?.isEmpty == true { try? FileManager.default.removeItem(atPath: output) }
        }
        record.seconds = (Date().timeIntervalSince(started) * 100).rounded() / 100
        record.finishedAt = ISO8601DateFormatter().string(from: Date())
        do {
            try manifest.append(record)
        } catch {
            log("\(prefix): cannot write the manifest: \(error)")
            return .failed
        }
        return record.status
    }

    /// Instances in an output folder (what a done slide must still have to be skipped).
    static func instanceCount(_ folder: String) -> Int {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter { $0.hasSuffix(".dcm") }.count
    }
}
