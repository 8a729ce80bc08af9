import Foundation
import WSIDICOM

/// The attributes QIDO-RS queries may name, by keyword or by tag (`PatientID` or `00100020`), and
/// which of them may be matched at which level. A key we do not know is refused (400), never ignored:
/// a filter silently dropped returns more than the client asked for, and it cannot tell.
enum QIDOAttributes {
    /// The three QIDO-RS search levels.
    enum Level: Sendable {
        case study, series, instance
    }

    static let modalitiesInStudy = Tag(0x0008, 0x0061)
    static let availableTransferSyntaxUID = Tag(0x0008, 0x3002)
    static let retrieveURL = Tag(0x0008, 0x1190)
    static let numberOfStudyRelatedSeries = Tag(0x0020, 0x1206)
    static let numberOfStudyRelatedInstances = Tag(0x0020, 0x1208)
    static let numberOfSeriesRelatedInstances = Tag(0x0020, 0x1209)

    /// Keywords of the attributes our searches return or can be asked to include.
    static let keywords: [String: Tag] = [
        "SpecificCharacterSet": .specificCharacterSet, "ImageType": .imageType, "SOPClassUID": .sopClassUID,
        "SOPInstanceUID": .sopInstanceUID, "StudyDate": .studyDate, "SeriesDate": .seriesDate, "ContentDate": .contentDate,
        "AcquisitionDateTime": .acquisitionDateTime, "StudyTime": .studyTime, "SeriesTime": .seriesTime, "ContentTime": .contentTime,
        "AccessionNumber": .accessionNumber, "Modality": .modality, "ModalitiesInStudy": modalitiesInStudy,
        "Manufacturer": .manufacturer, "InstitutionName": .institutionName, "ReferringPhysicianName": .referringPhysicianName,
        "StudyDescription": .studyDescription, "SeriesDescription": .seriesDescription,
        "ManufacturerModelName": .manufacturerModelName, "RetrieveURL": retrieveURL,
        "AvailableTransferSyntaxUID": availableTransferSyntaxUID, "PatientName": .patientName, "PatientID": .patientID,
        "PatientBirthDate": .patientBirthDate, "PatientSex": .patientSex, "StudyInstanceUID": .studyInstanceUID,
        "SeriesInstanceUID": .seriesInstanceUID, "StudyID": .studyID, "SeriesNumber": .seriesNumber,
        "InstanceNumber": .instanceNumber, "FrameOfReferenceUID": .frameOfReferenceUID,
        "NumberOfStudyRelatedSeries": numberOfStudyRelatedSeries, "NumberOfStudyRelatedInstances": numberOfStudyRelatedInstances,
        "NumberOfSeriesRelatedInstances": numberOfSeriesRelatedInstances, "SamplesPerPixel": .samplesPerPixel,
        "PhotometricInterpretation": .photometricInterpretation, "NumberOfFrames": .numberOfFrames, "Rows": .rows,
        "Columns": .columns, "BitsAllocated": .bitsAllocated, "ContainerIdentifier": .containerIdentifier,
        "SpecimenDescriptionSequence": .specimenDescriptionSequence, "TotalPixelMatrixColumns": .totalPixelMatrixColumns,
        "TotalPixelMatrixRows": .totalPixelMatrixRows, "ImagedVolumeWidth": .imagedVolumeWidth,
        "ImagedVolumeHeight": .imagedVolumeHeight, "PyramidUID": .pyramidUID, "AcquisitionUID": .acquisitionUID,
        "DimensionOrganizationType": .dimensionOrganizationType, "LossyImageCompression": .lossyImageCompression,
    ]

    /// Attributes that can be matched, and the first level they belong to: a study attribute can be
    /// matched at every level, an instance attribute only in instance searches.
    static let matchable: [Tag: Level] = [
        .studyInstanceUID: .study, .patientID: .study, .patientName: .study, .accessionNumber: .study,
        .studyDate: .study, .studyID: .study, modalitiesInStudy: .study,
        .seriesInstanceUID: .series, .modality: .series, .seriesNumber: .series,
        .sopInstanceUID: .instance, .sopClassUID: .instance, .instanceNumber: .instance,
    ]

    /// The tag a query key or includefield value names (keyword, or 8 hex digits), or nil.
    static func tag(_ name: String) -> Tag? {
        if let tag = keywords[name] { return tag }
        guard name.count == 8, name.allSatisfy(\.isHexDigit), let value = UInt32(name, radix: 16) else { return nil }
        return Tag(UInt16(value >> 16), UInt16(value & 0xFFFF))
    }

    /// Whether `tag` may be matched at `level`. Modality is accepted in study searches too, where it
    /// means a study with a series of that modality (what ModalitiesInStudy says), as clients send it so.
    static func canMatch(_ tag: Tag, at level: Level) -> Bool {
        guard let first = matchable[tag] else { return false }
        switch level {
        case .study: return first == .study || tag == .modality
        case .series: return first != .instance
        case .instance: return true
        }
    }

    /// The attributes every result of `level` carries (PS3.18 tables 10.6.3-3 to -5, with the UIDs of
    /// the levels above so a result can be retrieved, and the WSI image attributes Slim reads).
    static func defaults(_ level: Level) -> [Tag] {
        switch level {
        case .study:
            return [.specificCharacterSet, .studyDate, .studyTime, .accessionNumber, modalitiesInStudy, .referringPhysicianName,
                    .patientName, .patientID, .patientBirthDate, .patientSex, .studyInstanceUID, .studyID, .studyDescription,
                    numberOfStudyRelatedSeries, numberOfStudyRelatedInstances]
        case .series:
            return [.specificCharacterSet, .modality, .seriesDescription, .studyInstanceUID, .seriesInstanceUID, .seriesNumber,
                    numberOfSeriesRelatedInstances]
        case .instance:
            return [.specificCharacterSet, .sopClassUID, .sopInstanceUID, .studyInstanceUID, .seriesInstanceUID, .instanceNumber,
                    .imageType, .rows, .columns, .numberOfFrames, .totalPixelMatrixColumns, .totalPixelMatrixRows]
        }
    }

    /// What `includefield=all` adds at the study and series levels (the instance level adds the whole
    /// data set): the other attributes of those levels' modules.
    static func all(_ level: Level) -> [Tag] {
        switch level {
        case .study: return defaults(.study)
        case .series: return defaults(.series) + [.seriesDate, .seriesTime, .manufacturer, .institutionName, .manufacturerModelName,
                                                  .frameOfReferenceUID, .containerIdentifier, .pyramidUID]
        case .instance: return defaults(.instance)
        }
    }
}
