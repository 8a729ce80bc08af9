/// Maps the slide's metadata and one instance's description to the attributes of the VL Whole Slide
/// Microscopy Image IOD (PS3.3 A.32.8): one place for the whole mapping.
public struct WSIDataSetBuilder: Sendable {
    public var metadata: WSIMetadata
    public var identity: WSISlideIdentity
    /// The optical path's ICC profile: the source's, else our sRGB profile.
    public var iccProfile: [UInt8]
    public var softwareVersion: String

    public init(metadata: WSIMetadata, identity: WSISlideIdentity, iccProfile: [UInt8]?, softwareVersion: String) {
        self.metadata = metadata
        self.identity = identity
        self.iccProfile = iccProfile ?? ICCProfile.sRGB
        self.softwareVersion = softwareVersion
    }

    static func code(_ value: String, _ scheme: String, _ meaning: String) -> DataSet {
        var item = DataSet()
        item.set(.codeValue, .SH, value)
        item.set(.codingSchemeDesignator, .SH, scheme)
        item.set(.codeMeaning, .LO, meaning)
        return item
    }

    /// A value fit for LO: no control characters or backslashes, at most 64 bytes.
    static func lo(_ text: String) -> String { DICOMValueRules.text(text, maxBytes: 64) }
    /// A Type 1 LO: never empty, "Unknown" where nothing (or nothing valid) is known.
    static func type1(_ text: String?) -> String { text.map(lo).flatMap { $0.isEmpty ? nil : $0 } ?? "Unknown" }
    /// A value fit for SH: the same, at most 16 bytes.
    static func sh(_ text: String) -> String { DICOMValueRules.text(text, maxBytes: 16) }
    /// A date, time or date-time kept only where it is one (a scanner's may not be).
    static func valid(_ value: String?, _ rule: (String) -> Bool) -> String? { value.flatMap { rule($0) ? $0 : nil } }
    /// A UID kept only where it is one.
    static func uid(_ value: String) -> String { DICOMValueRules.isUID(value) ? value : UID.make() }
    /// A pixel spacing every reader can take: two positive finite numbers.
    static func spacing(_ value: [Double]?) -> [Double]? {
        guard let value, value.count == 2, value.allSatisfy({ $0.isFinite && $0 > 0 }) else { return nil }
        return value
    }

    public func dataSet(for instance: WSIInstanceDescription, sopInstanceUID: String) -> DataSet {
        var ds = DataSet()
        let m = metadata
        let flavor = instance.flavor

        // SOP Common, General Image, Multi-frame Functional Groups
        ds.set(.specificCharacterSet, .CS, "ISO_IR 192")
        ds.set(.imageType, .CS, values: flavor.imageType)
        ds.set(.instanceCreationDate, .DA, identity.contentDate)
        ds.set(.instanceCreationTime, .TM, identity.contentTime)
        ds.set(.sopClassUID, .UI, UID.vlWholeSlideMicroscopyImageStorage)
        ds.set(.sopInstanceUID, .UI, sopInstanceUID)
        ds.set(.acquisitionUID, .UI, identity.acquisitionUID)
        ds.set(.pyramidUID, .UI, identity.pyramidUID)
        ds.set(.contentDate, .DA, identity.contentDate)
        ds.set(.contentTime, .TM, identity.contentTime)
        ds.set(.instanceNumber, .IS, String(instance.instanceNumber))
        if let derivation = instance.derivationDescription { ds.set(.derivationDescription, .ST, derivation) }

        // Patient
        ds.set(.patientName, .PN, DICOMValueRules.personName(m.patient.name ?? ""))
        ds.set(.patientID, .LO, Self.lo(m.patient.id ?? ""))
        ds.set(.patientBirthDate, .DA, Self.valid(m.patient.birthDate, DICOMValueRules.isDate) ?? "")
        ds.set(.patientSex, .CS, m.patient.sex.flatMap { ["M", "F", "O"].contains($0) ? $0 : nil } ?? "")

        // General Study
        let acquisitionDateTime = Self.valid(m.acquisitionDateTime, DICOMValueRules.isDateTime)
        let acquisitionDate = Self.valid(acquisitionDateTime.map { String($0.prefix(8)) }, DICOMValueRules.isDate)
        let acquisitionTime = Self.valid(acquisitionDateTime.flatMap { $0.count > 8 ? String($0.dropFirst(8)) : nil }, DICOMValueRules.isTime)
        ds.set(.studyInstanceUID, .UI, identity.studyInstanceUID)
        ds.set(.studyDate, .DA, Self.valid(m.study.date, DICOMValueRules.isDate) ?? acquisitionDate ?? identity.contentDate)
        ds.set(.studyTime, .TM, Self.valid(m.study.time, DICOMValueRules.isTime) ?? acquisitionTime ?? identity.contentTime)
        ds.set(.referringPhysicianName, .PN, DICOMValueRules.personName(m.study.referringPhysicianName ?? ""))
        ds.set(.studyID, .SH, Self.sh(m.study.id ?? ""))
        ds.set(.accessionNumber, .SH, Self.sh(m.study.accessionNumber ?? ""))
        if let description = m.study.description { ds.set(.studyDescription, .LO, Self.lo(description)) }

        // General Series, Whole Slide Microscopy Series
        ds.set(.modality, .CS, "SM")
        ds.set(.seriesInstanceUID, .UI, identity.seriesInstanceUID)
        ds.set(.seriesNumber, .IS, String(min(max(m.series.number ?? 1, 0), 2_147_483_647)))
        if let description = m.series.description { ds.set(.seriesDescription, .LO, Self.lo(description)) }

        // Frame of Reference
        ds.set(.frameOfReferenceUID, .UI, identity.frameOfReferenceUID)
        ds.set(.positionReferenceIndicator, .LO, "SLIDE_CORNER")

        // Enhanced General Equipment (all Type 1), and ourselves as contributing equipment
        ds.set(.manufacturer, .LO, Self.type1(m.equipment.manufacturer))
        ds.set(.manufacturerModelName, .LO, Self.type1(m.equipment.modelName))
        ds.set(.deviceSerialNumber, .LO, Self.type1(m.equipment.deviceSerialNumber))
        ds.set(.softwareVersions, .LO, Self.type1(m.equipment.softwareVersions))
        if let institution = m.equipment.institutionName { ds.set(.institutionName, .LO, Self.lo(institution)) }
        var contributor = DataSet()
        contributor.set(.manufacturer, .LO, "dicomizer")
        contributor.set(.softwareVersions, .LO, softwareVersion)
        contributor.set(.contributionDescription, .ST, "Converted to DICOM WSI")
        contributor.set(.purposeOfReferenceCodeSequence, sequence: [Self.code("109103", "DCM", "Modifying Equipment")])
        ds.set(.contributingEquipmentSequence, sequence: [contributor])

        // Image Pixel
        ds.set(.samplesPerPixel, us: 3)
        ds.set(.photometricInterpretation, .CS, instance.photometricInterpretation)
        ds.set(.planarConfiguration, us: 0)
        ds.set(.rows, us: UInt16(instance.tileHeight))
        ds.set(.columns, us: UInt16(instance.tileWidth))
        ds.set(.bitsAllocated, us: 8)
        ds.set(.bitsStored, us: 8)
        ds.set(.highBit, us: 7)
        ds.set(.pixelRepresentation, us: 0)
        ds.set(.numberOfFrames, .IS, String(instance.frameCount))

        // Multi-frame Dimension: TILED_FULL, indexed by the plane position in the total pixel matrix
        var organization = DataSet()
        organization.set(.dimensionOrganizationUID, .UI, identity.dimensionOrganizationUID)
        ds.set(.dimensionOrganizationSequence, sequence: [organization])
        ds.set(.dimensionIndexSequence, sequence: [Tag.columnPositionInTotalImagePixelMatrix, .rowPositionInTotalImagePixelMatrix].map { pointer in
            var index = DataSet()
            index.set(.dimensionOrganizationUID, .UI, identity.dimensionOrganizationUID)
            index.set(.dimensionIndexPointer, at: pointer)
            index.set(.functionalGroupPointer, at: .planePositionSlideSequence)
            return index
        })
        ds.set(.dimensionOrganizationType, .CS, "TILED_FULL")

        // Specimen
        ds.set(.containerIdentifier, .LO, Self.lo(identity.containerIdentifier))
        ds.set(.issuerOfTheContainerIdentifierSequence, sequence: [])
        ds.set(.containerTypeCodeSequence, sequence: [Self.code("433466003", "SCT", "Microscope slide")])
        var specimen = DataSet()
        specimen.set(.specimenIdentifier, .LO, Self.lo(identity.specimenIdentifier))
        specimen.set(.specimenUID, .UI, identity.specimenUID)
        specimen.set(.issuerOfTheSpecimenIdentifierSequence, sequence: [])
        specimen.set(.specimenPreparationSequence, sequence: [])
        if let description = m.specimen.description { specimen.set(.specimenShortDescription, .LO, Self.lo(description)) }
        ds.set(.specimenDescriptionSequence, sequence: [specimen])

        // Acquisition Context
        ds.set(.acquisitionContextSequence, sequence: [])

        // Whole Slide Microscopy Image
        let spacing = Self.spacing(instance.pixelSpacing)
        ds.set(.totalPixelMatrixColumns, ul: UInt32(instance.totalWidth))
        ds.set(.totalPixelMatrixRows, ul: UInt32(instance.totalHeight))
        ds.set(.totalPixelMatrixFocalPlanes, ul: 1)
        if let spacing {
            ds.set(.imagedVolumeWidth, fl: Float(Double(instance.totalWidth) * spacing[1]))
            ds.set(.imagedVolumeHeight, fl: Float(Double(instance.totalHeight) * spacing[0]))
            ds.set(.imagedVolumeDepth, fl: 0.001)
        }
        var origin = DataSet()
        origin.set(.xOffsetInSlideCoordinateSystem, ds: [0])
        origin.set(.yOffsetInSlideCoordinateSystem, ds: [0])
        ds.set(.totalPixelMatrixOriginSequence, sequence: [origin])
        ds.set(.imageOrientationSlide, ds: [0, -1, 0, -1, 0, 0])
        ds.set(.acquisitionDateTime, .DT, acquisitionDateTime ?? identity.contentDate + identity.contentTime)
        ds.set(.volumetricProperties, .CS, "VOLUME")
        ds.set(.focusMethod, .CS, "AUTO")
        ds.set(.extendedDepthOfField, .CS, "NO")
        let showsLabel = flavor == .label || flavor == .overview
        ds.set(.specimenLabelInImage, .CS, showsLabel ? "YES" : "NO")
        ds.set(.burnedInAnnotation, .CS, showsLabel ? "YES" : "NO")
        if let lossy = instance.lossyCompression {
            ds.set(.lossyImageCompression, .CS, "01")
            // Padded so that the writer can patch in the ratio it measures once all frames are written.
            let ratios = lossy.ratios.map(DecimalString.format).joined(separator: "\\")
            let width = 17 * lossy.ratios.count - 1
            ds.set(.lossyImageCompressionRatio, .DS, ratios + String(repeating: " ", count: max(0, width - ratios.count)))
            ds.set(.lossyImageCompressionMethod, .CS, values: lossy.methods)
        } else {
            ds.set(.lossyImageCompression, .CS, "00")
        }
        ds.set(.numberOfOpticalPaths, ul: 1)

        // Optical Path
        var path = DataSet()
        path.set(.opticalPathIdentifier, .SH, "1")
        path.set(.illuminationTypeCodeSequence, sequence: [Self.code("111744", "DCM", "Brightfield illumination")])
        path.set(.illuminationColorCodeSequence, sequence: [Self.code("414298005", "SCT", "Full Spectrum")])
        path.set(.iccProfile, .OB, iccProfile)
        if let power = m.objectivePower, power.isFinite, power > 0 { path.set(.objectiveLensPower, ds: [power]) }
        ds.set(.opticalPathSequence, sequence: [path])

        // Slide Label
        if flavor == .label {
            ds.set(.barcodeValue, .LT, DICOMValueRules.longText(m.label.barcode ?? "", maxBytes: 10_240))
            ds.set(.labelText, .UT, DICOMValueRules.longText(m.label.text ?? "", maxBytes: 1 << 20))
        }

        // Shared Functional Groups
        var shared = DataSet()
        if let spacing {
            var measures = DataSet()
            measures.set(.pixelSpacing, ds: spacing)
            measures.set(.sliceThickness, ds: [0.001])
            shared.set(.pixelMeasuresSequence, sequence: [measures])
        }
        var frameType = DataSet()
        frameType.set(.frameType, .CS, values: flavor.imageType)
        shared.set(.wholeSlideMicroscopyImageFrameTypeSequence, sequence: [frameType])
        var pathIdentification = DataSet()
        pathIdentification.set(.opticalPathIdentifier, .SH, "1")
        shared.set(.opticalPathIdentificationSequence, sequence: [pathIdentification])
        ds.set(.sharedFunctionalGroupsSequence, sequence: [shared])
        return ds
    }
}
