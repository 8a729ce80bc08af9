import ArgumentParser
import Foundation
import WSICodecs
import WSIDICOM
import WSIExport
import WSIPyramid
import WSISources

extension OutputCompression: ExpressibleByArgument {}
extension PyramidMode: ExpressibleByArgument {}

/// The conversion settings `convert` and `batch` share.
struct ConversionFlags: ParsableArguments {
    @Option(help: "Tile size in pixels (default: the source's when it is tiled, else 256); a size other than the source's means re-encoding.") var tileSize: Int?
    @Option(help: "Frame compression: jpeg, jpeg2000, jpeg2000-lossless, none (default: the source's codec when its tiles can be copied, else jpeg).")
    var compression: OutputCompression?
    @Option(help: "JPEG quality 1-100 (JPEG 2000: 90 means 10:1).") var quality = 90
    @Option(help: "JPEG chroma subsampling: 420, 422, 444.") var subsampling: ChromaSubsampling = .s420
    @Option(help: "Number of pyramid levels (default: down to one tile).") var levels: Int?
    @Option(help: "Pyramid: dyadic (every level half the one above, computed from level 0) or source (the source's own levels copied as they are where its tiles are copied, dyadic levels computed below them).")
    var pyramid: PyramidMode = .dyadic
    @Option(help: "Decoding and encoding threads (default: all cores).") var threads: Int?
    @Option(help: "Level-0 tiles in flight per step: fewer use less memory, more keep the cores busier (default: 8 megapixels' worth, 128 tiles of 256).")
    var window: Int?
    @Option(help: "JSON file of patient, study, series, specimen, equipment and label attributes.") var metadata: String?
    @Flag(help: "Re-encode level 0 even where its tiles could be copied (JPEG tiles to JPEG 4:2:0 or 4:4:4 on the source's grid are re-encoded in the DCT domain, without decoding to pixels).") var reencode = false
    @Flag(help: "Do not write the label image.") var noLabel = false
    @Flag(help: "Do not write the overview (macro) image.") var noOverview = false
    @Flag(help: "Do not write the thumbnail image.") var noThumbnail = false
    @Flag(help: "Write the instances through the page cache; by default they are written around it (O_DIRECT) where the file system allows, since nothing reads them back during the conversion. For storage where direct writes are slow.")
    var pageCache = false

    func validate() throws {
        if let levels, levels < 1 { throw ValidationError("--levels must be at least 1") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        if let window, window < 1 { throw ValidationError("--window must be at least 1") }
        if !(1...100).contains(quality) { throw ValidationError("--quality must be 1 to 100") }
        if let tileSize, tileSize < 16 || tileSize > 4096 || tileSize % 2 != 0 { throw ValidationError("--tile-size must be even, 16 to 4096") }
    }

    /// Copies these settings into `options` (reading the metadata file).
    func apply(to options: inout ConversionOptions) throws {
        options.tileSize = tileSize
        options.compression = compression
        options.quality = quality
        options.subsampling = subsampling
        options.maxLevels = levels
        options.pyramid = pyramid
        options.threads = threads ?? Parallel.coreCount
        options.window = window
        options.reencode = reencode
        options.includeLabel = !noLabel
        options.includeOverview = !noOverview
        options.includeThumbnail = !noThumbnail
        options.directWrites = !pageCache
        if let metadata { options.metadata = try loadMetadata(metadata) }
    }
}
extension ChromaSubsampling: ExpressibleByArgument {}
extension SlideOpener.Reader: ExpressibleByArgument {}

struct ConvertCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Convert a slide into a folder of DICOM WSI instances.",
        discussion: """
        Writes one .dcm per pyramid level (level-0.dcm is full resolution) plus label.dcm, overview.dcm and thumbnail.dcm where the source has them. Level-0 JPEG or JPEG 2000 tiles are copied without re-encoding when the source allows it; lower levels are computed by 2x2 area averaging, or with --pyramid source the source's own lower levels are copied too and only the levels below them computed.
        """)

    @Argument(help: "The slide file.") var input: String
    @Option(name: .shortAndLong, help: "Output folder (default: a folder named after the input, beside it).") var output: String?
    @OptionGroup var conversion: ConversionFlags
    @Option(help: "Write a JSON summary (levels, sizes, instances, timings) to this file.") var report: String?
    @Option(help: "Reader: auto (our direct reader for SVS, Philips TIFF, Leica SCN, NDPI, VMS and tiled TIFF; OpenSlide for the rest) or openslide (OpenSlide for everything).") var reader: SlideOpener.Reader = .auto
    @Flag(help: "Replace DICOM instances already in the output folder.") var overwrite = false
    @Option(help: "Send the instances once written: dicom://AET@host:port or a DICOMweb URL.") var send: String?
    @OptionGroup var export: ExportFlags
    @Flag(name: .shortAndLong, help: "No progress output.") var quiet = false
    @Option(help: ArgumentHelp("Use the Extended Offset Table from this many bytes of frames (testing).", visibility: .hidden))
    var extendedOffsetThreshold: UInt64?

    func run() async throws {
        tuneAllocatorForConversion()
        let outputDirectory = output ?? defaultOutput(for: input)
        var options = ConversionOptions(outputDirectory: outputDirectory)
        options.overwrite = overwrite
        options.inputName = RawArguments.alias(for: input)?.shown
        if let extendedOffsetThreshold { options.extendedOffsetThreshold = extendedOffsetThreshold }
        do {
            try conversion.apply(to: &options)
            let exporter = try send.map { try export.exporter(to: $0) }
            let source = try SlideOpener.open(input, reader: reader)
            let interrupt = InterruptCleanup(folder: outputDirectory)
            defer { interrupt.cancel() }
            let bar = ProgressBar(enabled: !quiet)
            let converter = SlideConverter(source: source, options: options) { bar.update($0) }
            let result = try converter.run()
            bar.finish()
            for warning in result.warnings { FileHandle.standardError.write(Data("dicomizer: warning: \(warning)\n".utf8)) }
            if let report {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                try encoder.encode(result).write(to: URL(fileURLWithPath: report), options: .atomic)
            }
            let bytes = result.instances.reduce(0) { $0 + $1.bytes }
            let copied = result.instances.reduce(0) { $0 + $1.copiedFrames }
            print(RawArguments.display("Wrote \(result.instances.count.counted("instance")) (\(String(format: "%.1f", Double(bytes) / 1_048_576)) MiB, \(copied.counted("tile")) copied) to \(result.outputDirectory) in \(String(format: "%.2f", result.seconds)) s"))
            if let exporter {
                let summary = try await sendFolder(outputDirectory, with: exporter, quiet: quiet)
                if !summary.failed.isEmpty { throw ExitCode.failure }
            }
        } catch let error as SourceError {
            throw fail(error.description)
        } catch let error as ExportError {
            throw fail(error.description)
        } catch let error as ConversionError {
            throw fail(error.description)
        } catch let error as OutputError {
            throw fail(error.description)
        } catch let error as CodecError {
            throw fail("\(input): \(error)")
        } catch let error as MetadataError {
            throw fail(error.description)
        } catch let error as ExitCode {
            throw error
        } catch {
            throw fail("\(input): \(error.localizedDescription)")
        }
    }

    private func defaultOutput(for input: String) -> String {
        // A name that is not UTF-8 (opened as /proc/self/fd/N): the folder goes beside it, named as shown.
        if let alias = RawArguments.alias(for: input), let folder = alias.folder {
            let name = ((alias.shown as NSString).lastPathComponent as NSString).deletingPathExtension
            return folder + "/" + name + "-dicom"
        }
        let url = URL(fileURLWithPath: input)
        return url.deletingPathExtension().path + "-dicom"
    }
}
