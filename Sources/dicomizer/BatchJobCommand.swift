import ArgumentParser
import Foundation
import WSIBatch

/// The child side of `batch`: converts the one slide of a job file and writes its report. Hidden: only
/// `batch` starts it, so that a slide that crashes a reader takes down its own process, not the batch.
struct BatchJobCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "batch-job", abstract: "Convert one slide of a batch (started by `dicomizer batch`).", shouldDisplay: false)

    @Argument(help: "The job: a JSON file written by `dicomizer batch`.") var job: String
    @Option(help: "Where the conversion report goes (JSON).") var report: String
    @Option(help: "The batch's process ID: the job stops when that process is gone.") var parent: Int32

    func run() throws {
        tuneAllocatorForConversion()
        do {
            try SlideJob.runAsChild(jobFile: job, reportFile: report, parent: parent)
        } catch {
            throw fail("\(error)")
        }
    }
}

/// This executable's path, for starting it again as a child.
var executablePath: String {
    (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
}
