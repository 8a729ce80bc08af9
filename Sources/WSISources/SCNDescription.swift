import Foundation

/// The XML document in a Leica SCN's first ImageDescription: a collection (the glass slide; sizes in
/// nanometres) holding images, each a set of resolutions stored as TIFF directories (`dimension ifd=`)
/// and placed on the collection by its `view`. The macro is the image whose view is the whole collection;
/// the others are main images. We read files with one brightfield main image in one focal plane, the
/// usual shape; OpenSlide reads the rest (several regions side by side on the collection).
struct SCNDescription: Sendable {
    static let namespace = "http://www.leica-microsystems.com/scn/2010/10/01"

    /// A resolution of an image: its size and TIFF directory.
    struct Dimension: Sendable, Equatable {
        var width: Int
        var height: Int
        var directory: Int
    }

    /// The main image's resolutions, largest first.
    var main: [Dimension]
    /// Where the main image lies on the collection, in its own level-0 pixels.
    var mainOffset: (x: Int, y: Int)
    /// The macro's largest resolution, if there is a macro.
    var macro: Dimension?
    var objectivePower: Double?
    var deviceModel: String?
    var deviceVersion: String?
    /// The collection's barcode (base64 in newer files, as OpenSlide reads it).
    var barcode: String?
    /// DICOM DT.
    var creationDateTime: String?

    enum Refusal: Error, CustomStringConvertible {
        case notSCN
        case unsupported(String)
        var description: String {
            switch self {
            case .notSCN: "not a Leica SCN description"
            case .unsupported(let what): what
            }
        }
    }

    init(_ text: String?) throws(Refusal) {
        guard let text, text.contains(Self.namespace), let root = XMLTree.parse(text), root.name == "scn",
              root.attributes["xmlns"] == Self.namespace else { throw .notSCN }
        func integer(_ element: XMLTree?, _ name: String) -> Int? { element?.attributes[name].flatMap { Int($0) } }
        func content(_ element: XMLTree, _ path: [String]) -> String? { element.descendant(path)?.value }
        guard let collection = root.child("collection"),
              let collectionWidth = integer(collection, "sizeX"), let collectionHeight = integer(collection, "sizeY") else {
            throw .unsupported("Leica SCN without a collection size")
        }
        var mains: [(element: XMLTree, dimensions: [Dimension], view: (width: Int, x: Int, y: Int))] = []
        var macros: [[Dimension]] = []
        for image in collection.children("image") {
            guard let view = image.child("view"), let viewWidth = integer(view, "sizeX"), let viewHeight = integer(view, "sizeY"),
                  let x = integer(view, "offsetX"), let y = integer(view, "offsetY") else {
                throw .unsupported("Leica SCN image without a view")
            }
            guard viewWidth > 0, viewHeight > 0, x >= 0, y >= 0 else {
                throw .unsupported("Leica SCN image with a view of \(viewWidth) x \(viewHeight) nm at (\(x), \(y))")
            }
            let source = content(image, ["scanSettings", "illuminationSettings", "illuminationSource"])
            guard source == "brightfield" else { throw .unsupported("Leica SCN with a \(source ?? "unnamed") image (brightfield only)") }
            var dimensions: [Dimension] = []
            for dimension in image.child("pixels")?.children("dimension") ?? [] {
                // Focal planes other than the first, and channels, are left to OpenSlide.
                if let z = integer(dimension, "z"), z != 0 { throw .unsupported("Leica SCN with several focal planes") }
                guard let width = integer(dimension, "sizeX"), let height = integer(dimension, "sizeY"),
                      let directory = integer(dimension, "ifd"), width > 0, height > 0, directory >= 0 else {
                    throw .unsupported("Leica SCN image resolution without a size or directory")
                }
                dimensions.append(Dimension(width: width, height: height, directory: directory))
            }
            dimensions.sort { $0.width > $1.width }
            guard !dimensions.isEmpty else { throw .unsupported("Leica SCN image without resolutions") }
            if x == 0, y == 0, viewWidth == collectionWidth, viewHeight == collectionHeight {
                macros.append(dimensions)
            } else {
                mains.append((image, dimensions, (viewWidth, x, y)))
            }
        }
        guard mains.count == 1 else { throw .unsupported("Leica SCN with \(mains.count) main images (one is read directly)") }
        guard macros.count <= 1 else { throw .unsupported("Leica SCN with several macro images") }
        let image = mains[0]
        main = image.dimensions
        // Nanometres per level-0 pixel, as OpenSlide places the image on the collection.
        let nanometresPerPixel = Double(image.view.width) / Double(main[0].width)
        let offset = (x: (Double(image.view.x) / nanometresPerPixel).rounded(), y: (Double(image.view.y) / nanometresPerPixel).rounded())
        guard offset.x < 1e12, offset.y < 1e12 else { throw .unsupported("Leica SCN main image placed \(offset) pixels away") }
        mainOffset = (Int(offset.x), Int(offset.y))
        macro = macros.first?.first
        barcode = collection.child("barcode").flatMap { barcodeText($0.value) }
        objectivePower = content(image.element, ["scanSettings", "objectiveSettings", "objective"]).flatMap(Double.init)
        let device = image.element.child("device")
        deviceModel = device?.attributes["model"]?.split(separator: ";").first.map(String.init)
        deviceVersion = device?.attributes["version"]?.split(separator: ";").first.map(String.init)
        if let date = content(image.element, ["creationDate"]) {
            let digits = date.prefix { $0 != "." && $0 != "Z" }.filter(\.isNumber)
            if digits.count >= 8 { creationDateTime = String(digits.prefix(14)) }
        }
    }
}
