/// A DICOM data element tag (group, element).
public struct Tag: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let group: UInt16
    public let element: UInt16

    public init(_ group: UInt16, _ element: UInt16) { self.group = group; self.element = element }

    public var value: UInt32 { UInt32(group) << 16 | UInt32(element) }
    public static func < (a: Tag, b: Tag) -> Bool { a.value < b.value }
    public var description: String {
        func hex(_ v: UInt16) -> String {
            let digits = String(v, radix: 16, uppercase: true)
            return String(repeating: "0", count: 4 - digits.count) + digits
        }
        return "(\(hex(group)),\(hex(element)))"
    }

    static let item = Tag(0xFFFE, 0xE000)
    static let itemDelimitation = Tag(0xFFFE, 0xE00D)
    static let sequenceDelimitation = Tag(0xFFFE, 0xE0DD)
}

/// The tags this project writes or reads, by their dictionary names.
public extension Tag {
    static let fileMetaInformationGroupLength = Tag(0x0002, 0x0000)
    static let fileMetaInformationVersion = Tag(0x0002, 0x0001)
    static let mediaStorageSOPClassUID = Tag(0x0002, 0x0002)
    static let mediaStorageSOPInstanceUID = Tag(0x0002, 0x0003)
    static let transferSyntaxUID = Tag(0x0002, 0x0010)
    static let implementationClassUID = Tag(0x0002, 0x0012)
    static let implementationVersionName = Tag(0x0002, 0x0013)

    static let specificCharacterSet = Tag(0x0008, 0x0005)
    static let imageType = Tag(0x0008, 0x0008)
    static let instanceCreationDate = Tag(0x0008, 0x0012)
    static let instanceCreationTime = Tag(0x0008, 0x0013)
    static let sopClassUID = Tag(0x0008, 0x0016)
    static let sopInstanceUID = Tag(0x0008, 0x0018)
    static let acquisitionUID = Tag(0x0008, 0x0017)
    static let pyramidUID = Tag(0x0008, 0x0019)
    static let studyDate = Tag(0x0008, 0x0020)
    static let seriesDate = Tag(0x0008, 0x0021)
    static let contentDate = Tag(0x0008, 0x0023)
    static let acquisitionDateTime = Tag(0x0008, 0x002A)
    static let studyTime = Tag(0x0008, 0x0030)
    static let seriesTime = Tag(0x0008, 0x0031)
    static let contentTime = Tag(0x0008, 0x0033)
    static let accessionNumber = Tag(0x0008, 0x0050)
    static let modality = Tag(0x0008, 0x0060)
    static let manufacturer = Tag(0x0008, 0x0070)
    static let institutionName = Tag(0x0008, 0x0080)
    static let referringPhysicianName = Tag(0x0008, 0x0090)
    static let codeValue = Tag(0x0008, 0x0100)
    static let codingSchemeDesignator = Tag(0x0008, 0x0102)
    static let codeMeaning = Tag(0x0008, 0x0104)
    static let studyDescription = Tag(0x0008, 0x1030)
    static let seriesDescription = Tag(0x0008, 0x103E)
    static let manufacturerModelName = Tag(0x0008, 0x1090)
    static let derivationDescription = Tag(0x0008, 0x2111)
    static let frameType = Tag(0x0008, 0x9007)
    static let volumetricProperties = Tag(0x0008, 0x9206)
    static let volumeBasedCalculationTechnique = Tag(0x0008, 0x9207)

    static let patientName = Tag(0x0010, 0x0010)
    static let patientID = Tag(0x0010, 0x0020)
    static let patientBirthDate = Tag(0x0010, 0x0030)
    static let patientSex = Tag(0x0010, 0x0040)

    static let sliceThickness = Tag(0x0018, 0x0050)
    static let deviceSerialNumber = Tag(0x0018, 0x1000)
    static let softwareVersions = Tag(0x0018, 0x1020)
    static let contributingEquipmentSequence = Tag(0x0018, 0xA001)
    static let contributionDescription = Tag(0x0018, 0xA003)
    static let purposeOfReferenceCodeSequence = Tag(0x0040, 0xA170)

    static let studyInstanceUID = Tag(0x0020, 0x000D)
    static let seriesInstanceUID = Tag(0x0020, 0x000E)
    static let studyID = Tag(0x0020, 0x0010)
    static let seriesNumber = Tag(0x0020, 0x0011)
    static let instanceNumber = Tag(0x0020, 0x0013)
    static let frameOfReferenceUID = Tag(0x0020, 0x0052)
    static let positionReferenceIndicator = Tag(0x0020, 0x1040)
    static let dimensionOrganizationUID = Tag(0x0020, 0x9164)
    static let dimensionIndexPointer = Tag(0x0020, 0x9165)
    static let functionalGroupPointer = Tag(0x0020, 0x9167)
    static let dimensionOrganizationSequence = Tag(0x0020, 0x9221)
    static let dimensionIndexSequence = Tag(0x0020, 0x9222)
    static let dimensionOrganizationType = Tag(0x0020, 0x9311)
    static let concatenationFrameOffsetNumber = Tag(0x0020, 0x9228)

    static let illuminationTypeCodeSequence = Tag(0x0022, 0x0016)

    static let samplesPerPixel = Tag(0x0028, 0x0002)
    static let photometricInterpretation = Tag(0x0028, 0x0004)
    static let planarConfiguration = Tag(0x0028, 0x0006)
    static let numberOfFrames = Tag(0x0028, 0x0008)
    static let rows = Tag(0x0028, 0x0010)
    static let columns = Tag(0x0028, 0x0011)
    static let pixelSpacing = Tag(0x0028, 0x0030)
    static let bitsAllocated = Tag(0x0028, 0x0100)
    static let bitsStored = Tag(0x0028, 0x0101)
    static let highBit = Tag(0x0028, 0x0102)
    static let pixelRepresentation = Tag(0x0028, 0x0103)
    static let burnedInAnnotation = Tag(0x0028, 0x0301)
    static let lossyImageCompression = Tag(0x0028, 0x2110)
    static let lossyImageCompressionRatio = Tag(0x0028, 0x2112)
    static let lossyImageCompressionMethod = Tag(0x0028, 0x2114)
    static let iccProfile = Tag(0x0028, 0x2000)
    static let pixelMeasuresSequence = Tag(0x0028, 0x9110)

    static let containerIdentifier = Tag(0x0040, 0x0512)
    static let issuerOfTheContainerIdentifierSequence = Tag(0x0040, 0x0513)
    static let alternateContainerIdentifierSequence = Tag(0x0040, 0x0515)
    static let containerTypeCodeSequence = Tag(0x0040, 0x0518)
    static let specimenIdentifier = Tag(0x0040, 0x0551)
    static let specimenUID = Tag(0x0040, 0x0554)
    static let acquisitionContextSequence = Tag(0x0040, 0x0555)
    static let specimenDescriptionSequence = Tag(0x0040, 0x0560)
    static let issuerOfTheSpecimenIdentifierSequence = Tag(0x0040, 0x0562)
    static let specimenShortDescription = Tag(0x0040, 0x0600)
    static let specimenPreparationSequence = Tag(0x0040, 0x0610)
    static let wholeSlideMicroscopyImageFrameTypeSequence = Tag(0x0040, 0x0710)
    static let xOffsetInSlideCoordinateSystem = Tag(0x0040, 0x072A)
    static let yOffsetInSlideCoordinateSystem = Tag(0x0040, 0x073A)

    static let imagedVolumeWidth = Tag(0x0048, 0x0001)
    static let imagedVolumeHeight = Tag(0x0048, 0x0002)
    static let imagedVolumeDepth = Tag(0x0048, 0x0003)
    static let totalPixelMatrixColumns = Tag(0x0048, 0x0006)
    static let totalPixelMatrixRows = Tag(0x0048, 0x0007)
    static let totalPixelMatrixOriginSequence = Tag(0x0048, 0x0008)
    static let specimenLabelInImage = Tag(0x0048, 0x0010)
    static let focusMethod = Tag(0x0048, 0x0011)
    static let extendedDepthOfField = Tag(0x0048, 0x0012)
    static let imageOrientationSlide = Tag(0x0048, 0x0102)
    static let opticalPathSequence = Tag(0x0048, 0x0105)
    static let opticalPathIdentifier = Tag(0x0048, 0x0106)
    static let illuminationColorCodeSequence = Tag(0x0048, 0x0108)
    static let objectiveLensPower = Tag(0x0048, 0x0112)
    static let opticalPathIdentificationSequence = Tag(0x0048, 0x0207)
    static let planePositionSlideSequence = Tag(0x0048, 0x021A)
    static let columnPositionInTotalImagePixelMatrix = Tag(0x0048, 0x021E)
    static let rowPositionInTotalImagePixelMatrix = Tag(0x0048, 0x021F)
    static let numberOfOpticalPaths = Tag(0x0048, 0x0302)
    static let totalPixelMatrixFocalPlanes = Tag(0x0048, 0x0303)

    static let labelText = Tag(0x2200, 0x0002)
    static let barcodeValue = Tag(0x2200, 0x0005)

    static let sharedFunctionalGroupsSequence = Tag(0x5200, 0x9229)
    static let perFrameFunctionalGroupsSequence = Tag(0x5200, 0x9230)

    static let extendedOffsetTable = Tag(0x7FE0, 0x0001)
    static let extendedOffsetTableLengths = Tag(0x7FE0, 0x0002)
    static let pixelData = Tag(0x7FE0, 0x0010)
}
