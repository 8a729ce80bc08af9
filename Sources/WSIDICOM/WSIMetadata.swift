/// What we know about a slide, independent of DICOM: taken from the source, overridden by the user's
/// `--metadata` JSON (whose shape is this type's), then mapped to attributes by `WSIDataSetBuilder`.
public struct WSIMetadata: Codable, Sendable, Equatable {
    public struct Patient: Codable, Sendable, Equatable {
        public var name: String?
        public var id: String?
        public var birthDate: String?
        public var sex: String?
        public init() {}
    }
    public struct Study: Codable, Sendable, Equatable {
        public var instanceUID: String?
        public var id: String?
        public var accessionNumber: String?
        public var description: String?
        /// YYYYMMDD
        public var date: String?
        /// HHMMSS
        public var time: String?
        public var referringPhysicianName: String?
        public init() {}
    }
    public struct Series: Codable, Sendable, Equatable {
        public var instanceUID: String?
        public var number: Int?
        public var description: String?
        public init() {}
    }
    public struct Specimen: Codable, Sendable, Equatable {
        public var identifier: String?
        public var uid: String?
        public var description: String?
        public var containerIdentifier: String?
        public init() {}
    }
    public struct Equipment: Codable, Sendable, Equatable {
        public var manufacturer: String?
        public var modelName: String?
        public var deviceSerialNumber: String?
        public var softwareVersions: String?
        public var institutionName: String?
        public init() {}
    }
    public struct Label: Codable, Sendable, Equatable {
        public var barcode: String?
        public var text: String?
        public init() {}
    }

    public var patient = Patient()
    public var study = Study()
    public var series = Series()
    public var specimen = Specimen()
    public var equipment = Equipment()
    public var label = Label()
    /// Acquisition date and time as DICOM DT (YYYYMMDDHHMMSS).
    public var acquisitionDateTime: String?
    public var objectivePower: Double?
    /// Pixel spacing of level 0 in millimetres (row spacing, column spacing).
    public var pixelSpacing: [Double]?

    public init() {}

    /// `self` with every field that `overrides` sets replacing ours.
    public func merging(_ overrides: WSIMetadata) -> WSIMetadata {
        var m = self
        func take<T>(_ keyPath: WritableKeyPath<WSIMetadata, T?>) { if let v = overrides[keyPath: keyPath] { m[keyPath: keyPath] = v } }
        take(\.patient.name); take(\.patient.id); take(\.patient.birthDate); take(\.patient.sex)
        take(\.study.instanceUID); take(\.study.id); take(\.study.accessionNumber); take(\.study.description)
        take(\.study.date); take(\.study.time); take(\.study.referringPhysicianName)
        take(\.series.instanceUID); take(\.series.number); take(\.series.description)
        take(\.specimen.identifier); take(\.specimen.uid); take(\.specimen.description); take(\.specimen.containerIdentifier)
        take(\.equipment.manufacturer); take(\.equipment.modelName); take(\.equipment.deviceSerialNumber)
        take(\.equipment.softwareVersions); take(\.equipment.institutionName)
        take(\.label.barcode); take(\.label.text)
        take(\.acquisitionDateTime); take(\.objectivePower); take(\.pixelSpacing)
        return m
    }
}
