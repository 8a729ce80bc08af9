import Foundation
import Testing
import WSIBatch
import WSIDICOM

/// `dicomizer batch`: failures isolated and reported, resumable after a rerun or a kill, shards disjoint
/// and complete, per-slide metadata from a CSV.
@Suite("Batch", .serialized)
struct BatchTests {
    /// Every record of every manifest in an output root.
    func manifest(_ root: URL) -> [ManifestRecord] {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []).filter { $0.hasPrefix("manifest") && $0.hasSuffix(".jsonl") }
        return names.sorted().flatMap { Manifest(path: root.appendingPathComponent($0).path).records() }
    }

    @Test("A folder with a corrupt slide: the good ones convert and validate, the bad one is reported, a rerun converts nothing new")
    func folderWithCorruptSlide() async throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let inputs = dir.appendingPathComponent("in")
        try FileManager.default.createDirectory(at: inputs.appendingPathComponent("sub"), withIntermediateDirectories: true)
        let svs = try TestSupport.makeSlide("svs", in: inputs, name: "alpha.svs", width: 900, height: 700)
        _ = try TestSupport.makeSlide("tiff", in: inputs.appendingPathComponent("sub"), name: "beta.tiff", width: 700, height: 500)
        _ = try TestSupport.makeSlide("png", in: inputs, name: "gamma.png", width: 300, height: 200)
        _ = try TestSupport.makeSlide("svs", in: inputs, name: "broken.svs", width: 900, height: 700, extra: ["--corrupt-tile"])
        try Data("not a slide".utf8).write(to: inputs.appendingPathComponent("notes.txt"))
        let csv = dir.appendingPathComponent("lis.csv")
        try Data("file,patient_id,accession_number,specimen_id\nalpha.svs,P-1,\"A,1\",S-1\nbeta.tiff,P-2,A-2,S-2\nlost.svs,P-9,A-9,S-9\n".utf8).write(to: csv)
        let out = dir.appendingPathComponent("out")

        let first = try TestSupport.run(TestSupport.dicomizer, ["batch", inputs.path, "-o", out.path, "--jobs", "2", "--metadata-csv", csv.path])
        #expect(first.status != 0, "a failed slide must make the exit status non-zero")
        #expect(first.stdout.contains("3 converted, 0 already done, 1 failed"), "\(first.stdout)")
        #expect(first.stderr.contains("lost.svs"), "the CSV row without a slide is reported: \(first.stderr)")
        let records = manifest(out)
        #expect(records.count == 4)
        let byName = Dictionary(uniqueKeysWithValues: records.map { (URL(fileURLWithPath: $0.input).lastPathComponent, $0) })
        #expect(Set(byName.keys) == ["alpha.svs", "beta.tiff", "gamma.png", "broken.svs"])
        let broken = try #require(byName["broken.svs"])
        #expect(broken.status == .failed && broken.error?.contains("corrupt") == true)
        #expect(!FileManager.default.fileExists(atPath: broken.output))
        for name in ["alpha.svs", "beta.tiff", "gamma.png"] {
            let record = try #require(byName[name])
            #expect(record.status == .done && record.instances >= 2 && record.checksum.hasPrefix("fnv1a64:") && record.size > 0)
            #expect(TestSupport.instances(in: record.output).count == record.instances)
        }
        #expect(byName["gamma.png"]?.warnings?.contains { $0.contains("no row") } == true)
        let alpha = try #require(byName["alpha.svs"])
        let verdict = try await TestSupport.check(alpha.output, source: svs, maxMAD0: 0, associated: ["label", "overview", "thumbnail"])
        #expect(verdict.errors.isEmpty, "\(verdict.errors)")
        let level0 = try DICOMFile(path: alpha.output + "/level-0.dcm")
        #expect(level0.dataSet.string(.patientID) == "P-1")
        #expect(level0.dataSet.string(.accessionNumber) == "A,1")

        let second = try TestSupport.run(TestSupport.dicomizer, ["batch", inputs.path, "-o", out.path, "--jobs", "2"])
        #expect(second.stdout.contains("0 converted, 3 already done, 1 failed"), "\(second.stdout)")
        #expect(manifest(out).count == 5, "only the failed slide is tried again")
    }

    /// A slide that takes long enough to convert (re-encoded, one thread) for a test to act midway.
    func slowSlide(in inputs: URL) throws -> String {
        try FileManager.default.createDirectory(at: inputs, withIntermediateDirectories: true)
        return try TestSupport.makeSlide("svs", in: inputs, name: "big.svs", width: 8_000, height: 6_000, extra: ["--repeat-tiles", "3"])
    }

    /// `dicomizer batch ARGUMENTS --reencode --threads 1` running in the background, output discarded.
    func startBatch(_ arguments: [String]) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: TestSupport.dicomizer)
        process.arguments = ["batch"] + arguments + ["--reencode", "--threads", "1"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    @Test("A slide whose conversion dies (a crashing reader, the OOM killer) fails alone: the others convert, nothing of it is left, a rerun converts it")
    func childKilled() throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let inputs = dir.appendingPathComponent("in")
        let big = try slowSlide(in: inputs)
        let small = try TestSupport.makeSlide("svs", in: inputs, name: "small.svs", width: 900, height: 700)
        let out = dir.appendingPathComponent("out")
        let process = try startBatch([big, small, "-o", out.path])
        // The child converting big.svs, once it has started writing.
        var child: Int32?
        for _ in 0..<6000 where child == nil {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: out.appendingPathComponent("big").path)) ?? []
            child = names.lazy.compactMap(TemporaryFileName.owner(of:)).first { $0 != process.processIdentifier }
            if child == nil { usleep(2_000) }
        }
        let pid = try #require(child, "no child process wrote big.svs's levels")
        kill(pid, SIGKILL)
        process.waitUntilExit()
        #expect(process.terminationStatus == 1, "a failed slide makes the batch fail")
        let records = manifest(out)
        let failed = try #require(records.first { $0.input.hasSuffix("big.svs") })
        #expect(failed.status == .failed && failed.error?.contains("killed (signal 9") == true, "\(failed)")
        #expect(records.first { $0.input.hasSuffix("small.svs") }?.status == .done)
        let left = (try? FileManager.default.contentsOfDirectory(atPath: out.appendingPathComponent("big").path)) ?? []
        #expect(left.isEmpty, "the killed conversion's files are removed: \(left)")
        #expect(TestSupport.instances(in: out.appendingPathComponent("small").path).count > 3)
        // Nothing of the job exchange stays in the output root.
        #expect(try FileManager.default.contentsOfDirectory(atPath: out.path).allSatisfy { !$0.hasPrefix(".job-") })

        let rerun = try TestSupport.run(TestSupport.dicomizer, ["batch", big, small, "-o", out.path, "--reencode"])
        #expect(rerun.status == 0 && rerun.stdout.contains("1 converted, 1 already done, 0 failed"), "\(rerun.stdout)\(rerun.stderr)")
    }

    @Test("A batch killed midway leaves no instance that looks complete, and a rerun completes it")
    func killAndResume() async throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let inputs = dir.appendingPathComponent("in")
        let big = try slowSlide(in: inputs)
        let out = dir.appendingPathComponent("out")
        let process = try startBatch([inputs.path, "-o", out.path])
        // Kill it mid-conversion: every level's temporary file exists from the start of the pass until all
        // levels are renamed together at its end, so seeing one means the slide is half-written.
        let folder = out.appendingPathComponent("big").path
        // Polled by blocking this thread, not by awaiting: a sleeping task can wait for a cooperative thread
        // (held by other suites' blocking work) longer than the whole conversion takes.
        var sawPartial = false
        for _ in 0..<6000 where !sawPartial {
            sawPartial = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).contains { $0.hasPrefix(".level-1.dcm.partial") }
            if !sawPartial { usleep(2_000) }
        }
        #expect(sawPartial, "the conversion never started")
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        #expect(!manifest(out).contains { $0.status == .done }, "the slide was killed before it finished")
        // Whatever .dcm exists is whole (instances appear only when complete).
        for name in TestSupport.instances(in: out.appendingPathComponent("big").path) {
            let file = try DICOMFile(path: out.appendingPathComponent("big/\(name)").path)
            #expect(file.numberOfFrames == file.dataSet.int(.numberOfFrames))
        }
        let rerun = try TestSupport.run(TestSupport.dicomizer, ["batch", inputs.path, "-o", out.path, "--reencode"])
        #expect(rerun.status == 0, "\(rerun.stderr)")
        #expect(manifest(out).last?.status == .done)
        // The killed run's temporary files are gone too (OpenSlide scans the whole folder).
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: out.appendingPathComponent("big").path).filter { $0.contains(".partial") }
        #expect(leftovers.isEmpty, "\(leftovers)")
        let verdict = try await TestSupport.check(out.appendingPathComponent("big").path, source: big, maxMAD0: 3)
        #expect(verdict.errors.isEmpty, "\(verdict.errors)")
    }

    @Test("Shards split the inputs: together they cover every slide exactly once")
    func shards() throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let inputs = dir.appendingPathComponent("in")
        try FileManager.default.createDirectory(at: inputs, withIntermediateDirectories: true)
        var names: [String] = []
        for i in 0..<7 {
            names.append(try TestSupport.makeSlide("png", in: inputs, name: "s\(i).png", width: 64 + i, height: 48, extra: ["--seed", String(i)]))
        }
        // A list file naming them in another order gives the same shards.
        let list = dir.appendingPathComponent("slides.txt")
        try Data(names.reversed().map { "in/" + URL(fileURLWithPath: $0).lastPathComponent }.joined(separator: "\n").utf8).write(to: list)
        var seen: [String] = []
        for k in 1...3 {
            let out = dir.appendingPathComponent("out-\(k)")
            let result = try TestSupport.run(TestSupport.dicomizer, ["batch", inputs.path, "-o", out.path, "--shard", "\(k)/3", "--levels", "1"])
            #expect(result.status == 0, "\(result.stderr)")
            // Each shard writes its own manifest (none at all when its share is empty).
            #expect(!FileManager.default.fileExists(atPath: out.appendingPathComponent("manifest.jsonl").path))
            seen += manifest(out).map(\.input)
            // The same shard from the list file (paths relative to it) holds the same slides.
            let fromList = dir.appendingPathComponent("list-\(k)")
            let relisted = try TestSupport.run(TestSupport.dicomizer, ["batch", "@" + list.path, "-o", fromList.path, "--shard", "\(k)/3", "--levels", "1"])
            #expect(relisted.status == 0, "\(relisted.stderr)")
            #expect(Set(manifest(fromList).map(\.input)) == Set(manifest(out).map(\.input)), "shard \(k) differs between the folder and the list")
        }
        #expect(seen.sorted() == names.map { URL(fileURLWithPath: $0).standardizedFileURL.path }.sorted())
        #expect(Set(seen).count == seen.count)
        let items = BatchInputs.discover([inputs.path]).items
        let reversed = BatchInputs.discover(names.reversed()).items
        for k in 1...3 {
            #expect(Set(BatchInputs.shard(items, index: k, count: 3).map(\.input)) == Set(BatchInputs.shard(reversed, index: k, count: 3).map(\.input)))
        }
        let bad = try TestSupport.run(TestSupport.dicomizer, ["batch", inputs.path, "-o", dir.appendingPathComponent("x").path, "--shard", "4/3"])
        #expect(bad.status != 0 && bad.stderr.contains("--shard"))
    }

    @Test("A folder of multi-file slides: a VMS is one slide, not its JPEGs; an MRXS is one slide, and nothing in its data folder is taken for one")
    func multiFileSlides() throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let inputs = dir.appendingPathComponent("in")
        let vmsFolder = inputs.appendingPathComponent("case-1")
        try FileManager.default.createDirectory(at: vmsFolder, withIntermediateDirectories: true)
        let vms = try TestSupport.makeSlide("vms", in: vmsFolder, name: "scan.vms", width: 512, height: 384)
        let plain = try TestSupport.makeSlide("jpeg", in: inputs, name: "photo.jpg", width: 64, height: 48)
        // An MRXS keeps its tiles in a folder of the same name beside it; a JPEG in there is not a slide.
        let mirax = try TestSupport.makeSlide("mrxs", in: inputs, name: "mirax.mrxs", width: 700, height: 500)
        _ = try TestSupport.makeSlide("jpeg", in: inputs.appendingPathComponent("mirax"), name: "preview.jpg", width: 64, height: 48)
        #expect(FileManager.default.fileExists(atPath: vmsFolder.appendingPathComponent("scan.jpg").path))

        let found = BatchInputs.discover([inputs.path]).items.map(\.input)
        let standard = { (path: String) in URL(fileURLWithPath: path).standardizedFileURL.path }
        #expect(found.sorted() == [standard(vms), standard(plain), standard(mirax)].sorted(), "found \(found)")

        let out = dir.appendingPathComponent("out")
        let result = try TestSupport.run(TestSupport.dicomizer, ["batch", inputs.path, "-o", out.path, "--levels", "2"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(manifest(out).map(\.status) == [.done, .done, .done])
        #expect(TestSupport.instances(in: out.appendingPathComponent("mirax").path).contains("level-1.dcm"))
        #expect(TestSupport.instances(in: out.appendingPathComponent("scan").path).contains("overview.dcm"))
    }

    @Test("A folder holding slides whose names are not UTF-8 (Latin-1 é, also in a folder's name): each is converted, a rerun skips them, shards agree")
    func nonUTF8Names() throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let inputs = dir.appendingPathComponent("in")
        try FileManager.default.createDirectory(at: inputs, withIntermediateDirectories: true)
        let plain = try TestSupport.makeSlide("png", in: inputs, name: "plain.png", width: 64, height: 48)
        let a = try TestSupport.makeSlide("png", in: inputs, name: "a.png", width: 70, height: 50, extra: ["--seed", "2"])
        let b = try TestSupport.makeSlide("png", in: inputs, name: "b.png", width: 72, height: 52, extra: ["--seed", "3"])
        func raw(_ text: String) -> [CChar] { (Array(inputs.path.utf8) + Array(text.utf8)).map { CChar(bitPattern: $0 == 0x25 ? 0xE9 : $0) } + [0] }
        // "%" stands for the Latin-1 byte 0xE9: /in/caf\xE9.png and /in/r\xE9sum\xE9/b.png.
        #expect(rename(a, raw("/caf%.png")) == 0)
        #expect(mkdir(raw("/r%sum%"), 0o755) == 0)
        #expect(rename(b, raw("/r%sum%/b.png")) == 0)

        let out = dir.appendingPathComponent("out")
        let first = try TestSupport.run(TestSupport.dicomizer, ["batch", inputs.path, "-o", out.path, "--levels", "1"])
        #expect(first.status == 0, "\(first.stdout)\(first.stderr)")
        let records = manifest(out)
        #expect(records.count == 3 && records.allSatisfy { $0.status == .done }, "\(records)")
        #expect(records.contains { $0.input == URL(fileURLWithPath: plain).standardizedFileURL.path })
        // Sizes are the slides' own, not their links'.
        #expect(records.allSatisfy { $0.size > 100 }, "\(records.map(\.size))")
        let folders = try FileManager.default.contentsOfDirectory(atPath: out.path).filter { !$0.hasPrefix(".") && !$0.hasSuffix(".jsonl") }
        #expect(Set(folders) == ["plain", "caf\u{FFFD}", "b"], "\(folders)")
        for folder in folders { #expect(TestSupport.instances(in: out.appendingPathComponent(folder).path) == ["level-0.dcm"]) }

        let second = try TestSupport.run(TestSupport.dicomizer, ["batch", inputs.path, "-o", out.path, "--levels", "1"])
        #expect(second.status == 0 && second.stdout.contains("0 converted, 3 already done"), "\(second.stdout)")

        // Two machines with different output roots split the same inputs the same way.
        var seen: [String] = []
        for k in 1...2 {
            let shard = BatchInputs.shard(BatchInputs.discover([inputs.path], aliasFolder: dir.appendingPathComponent("m\(k)/.raw-names").path).items, index: k, count: 2)
            seen += shard.map { ($0.input as NSString).lastPathComponent }
        }
        #expect(seen.sorted() == ["b.png", "caf\u{FFFD}.png", "plain.png"])
    }
}
