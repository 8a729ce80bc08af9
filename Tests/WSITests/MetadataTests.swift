import Foundation
import Testing
import WSIDICOM

/// `--metadata` values and the source's own properties end up in every instance; shared identifiers agree.
@Suite("Metadata mapping")
struct MetadataTests {
    @Test("Patient, study, specimen and label attributes from --metadata, scanner and MPP from the source")
    func metadataFile() throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let slide = try TestSupport.makeSlide("svs", in: dir, extra: ["--mpp", "0.5"])
        let out = dir.appendingPathComponent("out").path
        let metadata = TestSupport.repositoryRoot.appendingPathComponent("testdata/metadata-example.json").path
        let result = try TestSupport.run(TestSupport.dicomizer, [slide, "-o", out, "-q", "--metadata", metadata])
        #expect(result.status == 0, "\(result.stderr)")

        let files = try TestSupport.instances(in: out).map { try DICOMFile(path: out + "/" + $0) }
        #expect(files.count == 7)
        for file in files {
            let ds = file.dataSet
            #expect(ds.string(.patientName) == "Doe^Jane")
            #expect(ds.string(.patientID) == "PAT-0001")
            #expect(ds.string(.accessionNumber) == "ACC-2026-0042")
            #expect(ds.string(.containerIdentifier) == "SLIDE-0001-A1-1")
            #expect(ds.items(.specimenDescriptionSequence)?.first?.string(.specimenIdentifier) == "SPEC-0001-A1")
            #expect(ds.string(.manufacturer) == "Aperio")
            #expect(ds.string(.deviceSerialNumber) == "SS0042")
            #expect(ds.string(.acquisitionDateTime) == "20261124101530")
            #expect(ds.string(.seriesNumber) == "3")
        }
        // One study, series, frame of reference and pyramid for all instances.
        for tag in [Tag.studyInstanceUID, .seriesInstanceUID, .frameOfReferenceUID, .pyramidUID] {
            #expect(Set(files.map { $0.dataSet.string(tag) ?? "" }).count == 1, "\(tag) differs between instances")
        }
        let label = try #require(files.first { $0.dataSet.strings(.imageType)?[2] == "LABEL" })
        #expect(label.dataSet.string(.barcodeValue) == "SLIDE-0001-A1-1")
        #expect(label.dataSet.string(.specimenLabelInImage) == "YES")
        let level0 = try #require(files.first { $0.dataSet.strings(.imageType) == ["ORIGINAL", "PRIMARY", "VOLUME", "NONE"] })
        let level1 = try #require(files.first { $0.dataSet.int(.totalPixelMatrixColumns) == 501 })
        let spacing0 = level0.pixelSpacing
        let spacing1 = level1.pixelSpacing
        #expect(spacing0 == [0.0005, 0.0005])
        // Each level's spacing is level 0's times the exact size ratio (757 / 379 rows, 1001 / 501 columns).
        #expect(abs(spacing1![0] - 0.0005 * 757 / 379) < 1e-12 && abs(spacing1![1] - 0.0005 * 1001 / 501) < 1e-12)
        // Level 0 carries the source's JPEG history with its real ratio; level 1 adds our own JPEG step.
        #expect(level0.dataSet.string(.lossyImageCompression) == "01")
        #expect(level0.dataSet.strings(.lossyImageCompressionMethod) == ["ISO_10918_1"])
        let ratio0 = try #require(level0.dataSet.doubles(.lossyImageCompressionRatio)?.first)
        #expect(ratio0 > 3)
        #expect(level1.dataSet.strings(.lossyImageCompressionMethod) == ["ISO_10918_1", "ISO_10918_1"])
        let ratios1 = try #require(level1.dataSet.doubles(.lossyImageCompressionRatio))
        #expect(ratios1.count == 2 && ratios1[1] > 3)
        // The optical path carries an Input-class sRGB profile.
        let profile = try #require(level0.dataSet.items(.opticalPathSequence)?.first?.bytes(.iccProfile))
        #expect(ICCProfile.deviceClass(of: profile) == "scnr")
    }
}
