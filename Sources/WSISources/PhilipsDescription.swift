import Foundation

/// The XML document in a Philips TIFF's first ImageDescription: a `DataObject` of type `DPUfsImport` whose
/// `Attribute`s carry DICOM names (DICOM_MANUFACTURER, DICOM_PIXEL_SPACING in millimetres, row then
/// column, ...). The scanned images are `DPScannedImage` objects: one `WSI` with a pixel spacing for each
/// level (`PixelDataRepresentation`), and the label and macro as base64 JPEGs.
struct PhilipsDescription: Sendable {
    var manufacturer: String?
    var modelName: String?
    var deviceSerialNumber: String?
    /// PIM_DP_UFS_BARCODE, which Philips writes in base64.
    var barcode: String?
    var softwareVersions: String?
    /// DICOM DT, fractions of a second dropped.
    var acquisitionDateTime: String?
    /// Micrometres per pixel at level 0 (x, y).
    var mpp: (x: Double, y: Double)?
    /// Level-0 pixels per pixel of each level, from the levels' pixel spacings, level 0 first; empty when
    /// the spacing of any is missing or unreadable.
    var downsamples: [Double] = []
    var labelJPEG: [UInt8]?
    var macroJPEG: [UInt8]?

    /// nil unless `text` is such a document with exactly one WSI image (what OpenSlide takes too).
    init?(_ text: String?) {
        guard let text, text.contains("DPUfsImport"), let root = XMLTree.parse(text), root.name == "DataObject",
              root.attributes["ObjectType"] == "DPUfsImport" else { return nil }
        func attribute(_ object: XMLTree, _ name: String) -> XMLTree? { object.children("Attribute").first { $0.attributes["Name"] == name } }
        func value(_ object: XMLTree, _ name: String) -> String? { attribute(object, name)?.value }
        /// The objects of an attribute holding an array of them.
        func objects(_ object: XMLTree, _ name: String) -> [XMLTree] { attribute(object, name)?.child("Array")?.children("DataObject") ?? [] }
        let scanned = objects(root, "PIM_DP_SCANNED_IMAGES")
        func images(_ type: String) -> [XMLTree] { scanned.filter { value($0, "PIM_DP_IMAGE_TYPE") == type } }
        let wsi = images("WSI")
        guard wsi.count == 1 else { return nil }

        manufacturer = value(root, "DICOM_MANUFACTURER")
        modelName = value(root, "DICOM_MODEL_NAME")
        deviceSerialNumber = value(root, "DICOM_DEVICE_SERIAL_NUMBER")
        barcode = value(root, "PIM_DP_UFS_BARCODE").flatMap(barcodeText)
        softwareVersions = value(root, "DICOM_SOFTWARE_VERSIONS").map { Self.quotedList($0).joined(separator: " ") }
        if let stamp = value(root, "DICOM_ACQUISITION_DATETIME") {
            let digits = stamp.prefix { $0 != "." }
            if digits.count >= 8, digits.allSatisfy(\.isNumber) { acquisitionDateTime = String(digits.prefix(14)) }
        }
        if let spacing = value(wsi[0], "DICOM_PIXEL_SPACING").flatMap(Self.spacing) { mpp = (spacing.x * 1000, spacing.y * 1000) }
        let levels = objects(wsi[0], "PIIM_PIXEL_DATA_REPRESENTATION_SEQUENCE")
        let spacings = levels.compactMap { value($0, "DICOM_PIXEL_SPACING").flatMap(Self.spacing) }
        if spacings.count == levels.count, let first = spacings.first {
            // (Left empty where a level's spacing is unreadable: the levels cannot be told apart then.)
            // Whole numbers, as OpenSlide takes them: the spacings are printed to a few digits.
            downsamples = spacings.map { (($0.x / first.x + $0.y / first.y) / 2).rounded() }
        }
        /// The base64 JPEG of the first image of a type.
        func embeddedJPEG(_ type: String) -> [UInt8]? {
            guard let text = images(type).first.flatMap({ value($0, "PIM_DP_IMAGE_DATA") }),
                  let data = Data(base64Encoded: text, options: .ignoreUnknownCharacters) else { return nil }
            return Array(data)
        }
        labelJPEG = embeddedJPEG("LABELIMAGE")
        macroJPEG = embeddedJPEG("MACROIMAGE")
    }

    /// `"0.00025" "0.00025"` (row spacing, then column spacing, in mm) as (x, y).
    private static func spacing(_ text: String) -> (x: Double, y: Double)? {
        let values = quotedList(text).compactMap(Double.init)
        guard values.count == 2, values.allSatisfy({ $0 > 0 && $0.isFinite }) else { return nil }
        return (values[1], values[0])
    }

    /// `"a" "b"` as [a, b]; an unquoted value as itself.
    private static func quotedList(_ text: String) -> [String] {
        text.split(separator: " ").map { $0.trimmingCharacters(in: CharacterSet(charactersIn: "\"")) }.filter { !$0.isEmpty }
    }
}
