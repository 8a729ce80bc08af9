import Foundation
import Testing
@testable import WSISources

/// The vendors' XML descriptions that decide whether a TIFF is read directly: what is taken from them,
/// and the shapes left to OpenSlide.
@Suite("Vendor descriptions")
struct VendorDescriptionTests {
    /// A Leica SCN description: a 10 x 8 mm collection, a macro over all of it, and the given main images.
    func scn(_ mains: [String]) -> String {
        let macro = image(view: (10_000_000, 8_000_000, 0, 0), dimensions: [(1000, 800, 0, nil), (250, 200, 1, nil)], source: "brightfield")
        return """
            <?xml version="1.0"?><scn xmlns="\(SCNDescription.namespace)"><collection sizeX="10000000" sizeY="8000000">\
            \(macro)\(mains.joined())</collection></scn>
            """
    }

    func image(view: (Int, Int, Int, Int), dimensions: [(Int, Int, Int, Int?)], source: String) -> String {
        let pixels = dimensions.map { w, h, ifd, z in "<dimension sizeX=\"\(w)\" sizeY=\"\(h)\" ifd=\"\(ifd)\"\(z.map { " z=\"\($0)\"" } ?? "")/>" }.joined()
        return """
            <image><creationDate>2026-01-02T03:04:05.67Z</creationDate><device model="Leica SCN400;Leica SCN" version="1.5;1.5.1"/>\
            <pixels>\(pixels)</pixels>\
            <view sizeX="\(view.0)" sizeY="\(view.1)" offsetX="\(view.2)" offsetY="\(view.3)"/>\
            <scanSettings><objectiveSettings><objective>20</objective></objectiveSettings>\
            <illuminationSettings><illuminationSource>\(source)</illuminationSource></illuminationSettings></scanSettings></image>
            """
    }

    @Test("Leica SCN: the main image's resolutions largest first, its place in its own pixels, the macro, the metadata")
    func scnMain() throws {
        // 4 x 3 mm at 500 nm a pixel (8000 x 6000), 1.5 mm and 1 mm in from the corner.
        let main = image(view: (4_000_000, 3_000_000, 1_500_000, 1_000_000),
                         dimensions: [(2000, 1500, 3, nil), (8000, 6000, 2, nil), (500, 375, 4, nil)], source: "brightfield")
        let description = try SCNDescription(scn([main]))
        #expect(description.main.map(\.directory) == [2, 3, 4])
        #expect(description.main[0] == .init(width: 8000, height: 6000, directory: 2))
        #expect(description.mainOffset == (3000, 2000))
        #expect(description.macro == .init(width: 1000, height: 800, directory: 0))
        #expect(description.objectivePower == 20 && description.deviceModel == "Leica SCN400" && description.deviceVersion == "1.5")
        #expect(description.creationDateTime == "20260102030405")
    }

    @Test("Leica SCN shapes left to OpenSlide: several main images, fluorescence, focal planes; not SCN at all")
    func scnRefused() {
        let main = image(view: (4_000_000, 3_000_000, 1_500_000, 1_000_000), dimensions: [(8000, 6000, 2, nil)], source: "brightfield")
        let other = image(view: (2_000_000, 2_000_000, 6_000_000, 1_000_000), dimensions: [(4000, 4000, 3, nil)], source: "brightfield")
        #expect(throws: SCNDescription.Refusal.self) { try SCNDescription(scn([main, other])) }
        #expect(throws: SCNDescription.Refusal.self) { try SCNDescription(scn([])) }
        let fluorescence = image(view: (4_000_000, 3_000_000, 1_500_000, 1_000_000), dimensions: [(8000, 6000, 2, nil)], source: "fluorescence")
        #expect(throws: SCNDescription.Refusal.self) { try SCNDescription(scn([fluorescence])) }
        let planes = image(view: (4_000_000, 3_000_000, 1_500_000, 1_000_000), dimensions: [(8000, 6000, 2, 0), (8000, 6000, 3, 1)], source: "brightfield")
        #expect(throws: SCNDescription.Refusal.self) { try SCNDescription(scn([planes])) }
        // Views that place nothing: none of it may trap.
        for view in [(0, 3_000_000, 0, 0), (4_000_000, 3_000_000, -1, 0), (1, 1, Int.max, Int.max)] {
            let odd = image(view: view, dimensions: [(8000, 6000, 2, nil)], source: "brightfield")
            #expect(throws: SCNDescription.Refusal.self) { try SCNDescription(scn([odd])) }
        }
        #expect(throws: SCNDescription.Refusal.self) { try SCNDescription("<scn/>") }
        // A processing instruction without data made Foundation's parser read a null pointer (found by fuzzing).
        #expect(throws: SCNDescription.Refusal.self) { try SCNDescription(scn([main]).replacingOccurrences(of: "<image>", with: "<?x?><image>")) }
        #expect(PhilipsDescription("<?xm?>\n<DataObject ObjectType=\"DPUfsImport\"></DataObject>") == nil)
        #expect(throws: SCNDescription.Refusal.self) { try SCNDescription(nil) }
    }

    @Test("Barcodes: base64 of printable text decoded, anything else kept as it stands")
    func barcodes() {
        #expect(barcodeText("U1lOVEhFVElD") == "SYNTHETIC")
        #expect(barcodeText("TEST") == "TEST")  // valid base64, but of bytes no barcode has
        #expect(barcodeText("S-2026/17") == "S-2026/17")
        #expect(barcodeText("") == nil)
    }

    @Test("Philips TIFF: spacings are row then column in mm; downsamples from each level's spacing; label from base64")
    func philips() throws {
        let label = Data([0xFF, 0xD8, 0xFF, 0xD9]).base64EncodedString()
        func level(_ row: String, _ column: String) -> String {
            "<DataObject ObjectType=\"PixelDataRepresentation\"><Attribute Name=\"DICOM_PIXEL_SPACING\">&quot;\(row)&quot; &quot;\(column)&quot;</Attribute></DataObject>"
        }
        let xml = """
            <?xml version="1.0" encoding="UTF-8" ?><DataObject ObjectType="DPUfsImport">\
            <Attribute Name="DICOM_MANUFACTURER">PHILIPS</Attribute>\
            <Attribute Name="DICOM_SOFTWARE_VERSIONS">&quot;1.8&quot; &quot;R51&quot;</Attribute>\
            <Attribute Name="DICOM_ACQUISITION_DATETIME">20190101120000.000000</Attribute>\
            <Attribute Name="PIM_DP_SCANNED_IMAGES"><Array>\
            <DataObject ObjectType="DPScannedImage"><Attribute Name="PIM_DP_IMAGE_TYPE">WSI</Attribute>\
            <Attribute Name="DICOM_PIXEL_SPACING">&quot;0.00025&quot; &quot;0.0002&quot;</Attribute>\
            <Attribute Name="PIIM_PIXEL_DATA_REPRESENTATION_SEQUENCE"><Array>\
            \(level("0.00025", "0.0002"))\(level("0.0005", "0.0004"))\(level("0.00100001", "0.0008"))</Array></Attribute></DataObject>\
            <DataObject ObjectType="DPScannedImage"><Attribute Name="PIM_DP_IMAGE_TYPE">LABELIMAGE</Attribute>\
            <Attribute Name="PIM_DP_IMAGE_DATA">\(label)</Attribute></DataObject>\
            </Array></Attribute></DataObject>
            """
        let description = try #require(PhilipsDescription(xml))
        #expect(description.mpp.map { [$0.x, $0.y] } == [0.2, 0.25])
        #expect(description.downsamples == [1, 2, 4])
        #expect(description.labelJPEG == [0xFF, 0xD8, 0xFF, 0xD9] && description.macroJPEG == nil)
        #expect(description.manufacturer == "PHILIPS" && description.softwareVersions == "1.8 R51")
        #expect(description.acquisitionDateTime == "20190101120000")
        // Two WSI images (OpenSlide refuses those too), or none, or another root: not read.
        let twice = xml.replacingOccurrences(of: "LABELIMAGE", with: "WSI")
        #expect(PhilipsDescription(twice) == nil)
        #expect(PhilipsDescription(xml.replacingOccurrences(of: ">WSI<", with: ">MACROIMAGE<")) == nil)
        #expect(PhilipsDescription(xml.replacingOccurrences(of: "DPUfsImport", with: "Other")) == nil)
    }
}
