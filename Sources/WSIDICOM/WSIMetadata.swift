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

    enum CodingKeys: String, CodingKey {
        case patient, study, series, specimen, equipment, label, acquisitionDateTime, objectivePower, pixelSpacing
    }

    /// Every field optional, groups included: the synthesized decoder requires each group that has a
    /// default value (`{"patient": {...}}` alone failed for want of "series").
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        patient = try c.decodeIfPresent(Patient.self, forKey: .patient) ?? Patient()
        study = try c.decodeIfPresent(Study.self, forKey: .study) ?? Study()
        series = try c.decodeIfPresent(Series.self, forKey: .series) ?? Series()
        specimen = try c.decodeIfPresent(Specimen.self, forKey: .specimen) ?? Specimen()
        equipment = try c.decodeIfPresent(Equipment.self, forKey: .equipment) ?? Equipment()
        label = try c.decodeIfPresent(Label.self, forKey: .label) ?? Label()
        acquisitionDateTime = try c.decodeIfPresent(String.self, forKey: .acquisitionDateTime)
        objectivePower = try c.decodeIfPresent(Double.self, forKey: .objectivePower)
        pixelSpacing = try c.decodeIfPresent([Double].self, forKey: .pixelSpacing)
    }

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

extension WSIMetadata {
    /// The first field given by a person (`--metadata`, a batch CSV) that no DICOM value can carry, and
    /// why: UIDs, dates and times are checked rather than cut or cleaned, since a changed UID or date
    /// would be a wrong one. (Free text is cleaned where it is written: `DICOMValueRules`.)
    public var invalidField: (field: String, problem: String)? {
        let uid = "must be a DICOM UID: digits and dots, no leading zeros, at most 64 characters"
        for (field, value) in [("study.instanceUID", study.instanceUID), ("series.instanceUID", series.instanceUID), ("specimen.uid", specimen.uid)] {
            if let value, !DICOMValueRules.isUID(value) { return (field, uid) }
        }
        for (field, value) in [("patient.birthDate", patient.birthDate), ("study.date", study.date)] {
            if let value, !value.isEmpty, !DICOMValueRules.isDate(value) { return (field, "must be a date YYYYMMDD") }
        }
        if let time = study.time, !time.isEmpty, !DICOMValueRules.isTime(time) { return ("study.time", "must be a time HHMMSS") }
        if let sex = patient.sex, !["", "M", "F", "O"].contains(sex) { return ("patient.sex", "must be M, F or O") }
        if let value = acquisitionDateTime, !DICOMValueRules.isDateTime(value) {
            return ("acquisitionDateTime", "must be a DICOM date and time YYYYMMDDHHMMSS")
        }
        if let spacing = pixelSpacing, spacing.count != 2 || !spacing.allSatisfy({ $0.isFinite && $0 > 0 && $0 < 1000 }) {
            return ("pixelSpacing", "must be two positive numbers of millimetres per pixel, [row, column]")
        }
        if let power = objectivePower, !(power.isFinite && power > 0 && power < 10_000) { return ("objectivePower", "must be a positive magnification") }
        if let number = series.number, !(0..<2_147_483_648).contains(number) { return ("series.number", "must be a whole number from 0") }
        return nil
    }
}
