import Foundation
import WSIDICOM

struct MetadataError: Error, CustomStringConvertible {
    let description: String
}

/// Reads the `--metadata` JSON (the shape of `WSIMetadata`). Every field is optional. The document is
/// walked by hand rather than given to `JSONDecoder`, so that each error names the field (`patient.id`)
/// and says what is wrong with it in words, never in the decoder's terms (`CodingKeys(stringValue:...)`),
/// and so that a misspelt field is an error instead of silently doing nothing.
func loadMetadata(_ path: String) throws -> WSIMetadata {
    guard let data = FileManager.default.contents(atPath: path) else { throw MetadataError(description: "\(path): cannot read metadata file") }
    let document: JSONValue
    do {
        document = try JSONDecoder().decode(JSONValue.self, from: data)
    } catch {
        throw MetadataError(description: "\(path): invalid metadata JSON: not valid JSON (check quotes, commas and brackets)")
    }
    do {
        return try MetadataReader.read(document)
    } catch let error as MetadataReader.FieldError {
        throw MetadataError(description: "\(path): invalid metadata JSON: \(error.field): \(error.problem)")
    }
}

/// A JSON value as it is, for reading documents field by field with our own messages.
enum JSONValue: Decodable {
    case null, bool(Bool), number(Double), string(String), array([JSONValue]), object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let value = try? container.decode(Bool.self) { self = .bool(value) }
        else if let value = try? container.decode(Double.self) { self = .number(value) }
        else if let value = try? container.decode(String.self) { self = .string(value) }
        else if let value = try? container.decode([JSONValue].self) { self = .array(value) }
        else { self = .object(try container.decode([String: JSONValue].self)) }
    }
}

/// The walk over a parsed `--metadata` document.
enum MetadataReader {
    struct FieldError: Error {
        let field: String
        let problem: String
    }

    static func read(_ document: JSONValue) throws -> WSIMetadata {
        guard case .object(let root) = document else { throw FieldError(field: "(document)", problem: "must be a JSON object") }
        var m = WSIMetadata()
        try known(root, in: "", ["patient", "study", "series", "specimen", "equipment", "label", "acquisitionDateTime", "objectivePower", "pixelSpacing"])
        if let patient = try group(root, "patient", ["name", "id", "birthDate", "sex"]) {
            m.patient.name = try string(patient, "patient.name")
            m.patient.id = try string(patient, "patient.id")
            m.patient.birthDate = try string(patient, "patient.birthDate")
            m.patient.sex = try string(patient, "patient.sex")
        }
        if let study = try group(root, "study", ["instanceUID", "id", "accessionNumber", "description", "date", "time", "referringPhysicianName"]) {
            m.study.instanceUID = try string(study, "study.instanceUID")
            m.study.id = try string(study, "study.id")
            m.study.accessionNumber = try string(study, "study.accessionNumber")
            m.study.description = try string(study, "study.description")
            m.study.date = try string(study, "study.date")
            m.study.time = try string(study, "study.time")
            m.study.referringPhysicianName = try string(study, "study.referringPhysicianName")
        }
        if let series = try group(root, "series", ["instanceUID", "number", "description"]) {
            m.series.instanceUID = try string(series, "series.instanceUID")
            m.series.number = try integer(series, "series.number")
            m.series.description = try string(series, "series.description")
        }
        if let specimen = try group(root, "specimen", ["identifier", "uid", "description", "containerIdentifier"]) {
            m.specimen.identifier = try string(specimen, "specimen.identifier")
            m.specimen.uid = try string(specimen, "specimen.uid")
            m.specimen.description = try string(specimen, "specimen.description")
            m.specimen.containerIdentifier = try string(specimen, "specimen.containerIdentifier")
        }
        if let equipment = try group(root, "equipment", ["manufacturer", "modelName", "deviceSerialNumber", "softwareVersions", "institutionName"]) {
            m.equipment.manufacturer = try string(equipment, "equipment.manufacturer")
            m.equipment.modelName = try string(equipment, "equipment.modelName")
            m.equipment.deviceSerialNumber = try string(equipment, "equipment.deviceSerialNumber")
            m.equipment.softwareVersions = try string(equipment, "equipment.softwareVersions")
            m.equipment.institutionName = try string(equipment, "equipment.institutionName")
        }
        if let label = try group(root, "label", ["barcode", "text"]) {
            m.label.barcode = try string(label, "label.barcode")
            m.label.text = try string(label, "label.text")
        }
        m.acquisitionDateTime = try string(root, "acquisitionDateTime")
        if let power = try number(root, "objectivePower") {
            guard power > 0, power < 10_000 else { throw FieldError(field: "objectivePower", problem: "must be a positive magnification (e.g. 20 or 40)") }
            m.objectivePower = power
        }
        if let value = root["pixelSpacing"], value.isPresent {
            let problem = "must be two positive numbers of millimetres per pixel, [row, column] (e.g. [0.00025, 0.00025])"
            guard case .array(let array) = value, array.count == 2 else { throw FieldError(field: "pixelSpacing", problem: problem) }
            let numbers = array.compactMap { if case .number(let n) = $0 { n } else { nil } }
            guard numbers.count == 2, numbers.allSatisfy({ $0.isFinite && $0 > 0 }) else { throw FieldError(field: "pixelSpacing", problem: problem) }
            m.pixelSpacing = numbers
        }
        if let invalid = m.invalidField { throw FieldError(field: invalid.field, problem: invalid.problem) }
        return m
    }

    private static func known(_ object: [String: JSONValue], in prefix: String, _ names: [String]) throws {
        if let unknown = object.keys.sorted().first(where: { !names.contains($0) }) {
            throw FieldError(field: prefix + unknown, problem: "is not a metadata field (expected one of \(names.joined(separator: ", ")))")
        }
    }

    private static func group(_ root: [String: JSONValue], _ name: String, _ fields: [String]) throws -> [String: JSONValue]? {
        guard let value = root[name], value.isPresent else { return nil }
        guard case .object(let object) = value else { throw FieldError(field: name, problem: "must be an object with any of \(fields.joined(separator: ", "))") }
        try known(object, in: name + ".", fields)
        return object
    }

    private static func leaf(_ field: String) -> String { field.split(separator: ".").last.map(String.init) ?? field }

    private static func string(_ object: [String: JSONValue], _ field: String) throws -> String? {
        guard let value = object[leaf(field)], value.isPresent else { return nil }
        guard case .string(let text) = value else { throw FieldError(field: field, problem: "must be a string (text in quotes)") }
        return text
    }

    private static func integer(_ object: [String: JSONValue], _ field: String) throws -> Int? {
        guard let value = try number(object, field) else { return nil }
        guard value == value.rounded(), value >= 0, value < 2_147_483_648 else { throw FieldError(field: field, problem: "must be a whole number from 0") }
        return Int(value)
    }

    private static func number(_ object: [String: JSONValue], _ field: String) throws -> Double? {
        guard let value = object[leaf(field)], value.isPresent else { return nil }
        guard case .number(let number) = value else { throw FieldError(field: field, problem: "must be a number") }
        return number
    }
}

extension JSONValue {
    /// null stands for a field left out.
    var isPresent: Bool { if case .null = self { false } else { true } }
}
