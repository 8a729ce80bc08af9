import CProcessControl
import Foundation
import WSIPyramid
import WSISources

/// One slide's conversion as a value: what a batch runs for each slide, in its own process or in a child
/// (`dicomizer batch-job`), which reads it from a JSON file.
public struct SlideJob: Codable, Sendable {
    public var input: String
    public var reader: SlideOpener.Reader
    public var options: ConversionOptions

    public init(input: String, reader: SlideOpener.Reader, options: ConversionOptions) {
        self.input = input
        self.reader = reader
        self.options = options
    }

    public func run() throws -> ConversionReport {
        try SlideConverter(source: try SlideOpener.open(input, reader: reader), options: options).run()
    }

    /// The child's side: dies with the batch that started it (a killed batch leaves no conversion
    /// running on into the folder its rerun writes), runs the job and writes its report.
    public static func runAsChild(jobFile: String, reportFile: String, parent: Int32) throws {
        _ = process_control_die_with_parent()
        guard getppid() == parent else { throw ConversionError("the batch that started this job has ended") }
        let job = try JSONDecoder().decode(SlideJob.self, from: Data(contentsOf: URL(fileURLWithPath: jobFile)))
        let report = try job.run()
        try JSONEncoder().encode(report).write(to: URL(fileURLWithPath: reportFile), options: .atomic)
    }
}

/// Runs each slide's job in a child process, so that a slide that crashes a native reader (libtiff or
/// OpenSlide on a damaged file) or is killed for its memory fails alone and the batch goes on.
public struct ChildProcessConverter: Sendable {
    /// The dicomizer executable, whose hidden `batch-job` command runs a job.
    public let executable: String

    public init(executable: String) { self.executable = executable }

    public func run(_ job: SlideJob, scratchFolder: String) throws -> ConversionReport {
        let base = (scratchFolder as NSString).appendingPathComponent(".job-\(getpid())-\(UUID().uuidString)")
        let jobFile = base + ".json", reportFile = base + ".report.json", errorFile = base + ".stderr"
        defer { for file in [jobFile, reportFile, errorFile] { unlink(file) } }
        try JSONEncoder().encode(job).write(to: URL(fileURLWithPath: jobFile))
        guard FileManager.default.createFile(atPath: errorFile, contents: nil), let errors = FileHandle(forWritingAtPath: errorFile) else {
            throw ConversionError("cannot write \(errorFile)")
        }
        defer { try? errors.close() }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["batch-job", jobFile, "--report", reportFile, "--parent", String(getpid())]
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = errors
        let started = Date()
        try process.run()
        process.waitUntilExit()
        let status = process.terminationStatus
        if process.terminationReason == .uncaughtSignal {
            OutputFolder.removeOutput(ofRun: process.processIdentifier, startedAt: started, in: job.options.outputDirectory)
            let name = strsignal(status).map { String(cString: $0) } ?? "signal \(status)"
            throw ConversionError("\(job.input): the conversion crashed or was killed (signal \(status), \(name)); nothing it wrote is kept")
        }
        guard status == 0 else {
            let text = (try? String(contentsOfFile: errorFile, encoding: .utf8)) ?? ""
            let message = text.split(separator: "\n").last { $0.hasPrefix("dicomizer: error: ") }.map { String($0.dropFirst(18)) }
            throw ConversionError(message ?? "the conversion exited with status \(status)")
        }
        return try JSONDecoder().decode(ConversionReport.self, from: Data(contentsOf: URL(fileURLWithPath: reportFile)))
    }
}
