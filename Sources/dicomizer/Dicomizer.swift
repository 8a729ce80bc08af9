import ArgumentParser
import Foundation

@main
struct Dicomizer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dicomizer",
        abstract: "Convert whole-slide images to DICOM (VL Whole Slide Microscopy Image) pyramids.",
        discussion: """
        `dicomizer SLIDE` is short for `dicomizer convert SLIDE`; `dicomizer serve FOLDER` serves converted slides to browsers and viewers. Reads Aperio SVS, Philips TIFF, Leica SCN, Hamamatsu NDPI and VMS, and generic tiled TIFF directly (their JPEG tiles copied, not re-encoded), every other format OpenSlide reads (MRXS, BIF, ...) through it, and plain PNG, JPEG and TIFF images.
        """,
        version: "0.1.0",
        subcommands: [ConvertCommand.self, InfoCommand.self, ServeCommand.self, BatchCommand.self, SendCommand.self, BatchJobCommand.self],
        defaultSubcommand: ConvertCommand.self
    )

    /// ArgumentParser's own `main`, given the arguments as their bytes name them (`RawArguments`).
    static func main() async {
        do {
            var command = try parseAsRoot(RawArguments.parsed.arguments)
            if var command = command as? AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}

/// Prints a one-line error naming what failed and exits with status 1.
func fail(_ message: String) -> ExitCode {
    FileHandle.standardError.write(Data("dicomizer: error: \(RawArguments.display(message))\n".utf8))
    return ExitCode.failure
}
