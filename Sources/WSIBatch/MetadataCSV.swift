import Foundation
import WSIDICOM

/// Per-slide metadata from a CSV file (one row per slide, from the LIS): a `file` column naming the slide
/// (its file name, or its path), and any of the columns below, mapped to DICOM attributes.
public struct MetadataCSV: Sendable {
    /// CSV column -> attribute. (Key paths are immutable values and the dictionary is never mutated.)
    nonisolated(unsafe) public static let columns: [String: WritableKeyPath<WSIMetadata, String?>] = [
        "patient_id": \.patient.id, "patient_name": \.patient.name, "patient_birth_date": \.patient.birthDate, "patient_sex": \.patient.sex,
        "accession_number": \.study.accessionNumber, "study_id": \.study.id, "study_description": \.study.description,
        "study_instance_uid": \.study.instanceUID, "study_date": \.study.date, "referring_physician": \.study.referringPhysicianName,
        "series_description": \.series.description, "specimen_id": \.specimen.identifier, "specimen_description": \.specimen.description,
        "container_id": \.specimen.containerIdentifier, "barcode": \.label.barcode, "label_text": \.label.text,
        "institution": \.equipment.institutionName,
    ]

    /// Rows by the slide's file name (and by full path when given so).
    public let rows: [String: WSIMetadata]

    public struct ParseError: Error, CustomStringConvertible {
        public let description: String
    }

    public init(path: String) throws {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw ParseError(description: "\(path): cannot read metadata CSV") }
        let table = Self.parse(text)
        guard let header = table.first?.map({ $0.lowercased().trimmingCharacters(in: .whitespaces) }) else {
            throw ParseError(description: "\(path): empty metadata CSV")
        }
        guard let fileColumn = header.firstIndex(of: "file") else { throw ParseError(description: "\(path): no 'file' column") }
        let unknown = header.filter { $0 != "file" && Self.columns[$0] == nil }
        guard unknown.isEmpty else {
            throw ParseError(description: "\(path): unknown columns \(unknown.joined(separator: ", ")) (known: file, \(Self.columns.keys.sorted().joined(separator: ", ")))")
        }
        var rows: [String: WSIMetadata] = [:]
        for (number, row) in table.dropFirst().enumerated() where !row.allSatisfy({ $0.isEmpty }) {
            guard row.count == header.count else {
                throw ParseError(description: "\(path): row \(number + 2) has \(row.count) fields, the header \(header.count)")
            }
            var metadata = WSIMetadata()
            for (index, name) in header.enumerated() where index != fileColumn && !row[index].isEmpty {
                metadata[keyPath: Self.columns[name]!] = row[index]
            }
            if let invalid = metadata.invalidField {
                let (field, problem) = invalid
                let columnOf = ["study.instanceUID": "study_instance_uid", "patient.birthDate": "patient_birth_date", "study.date": "study_date", "patient.sex": "patient_sex"]
                let column = columnOf[field] ?? field
                throw ParseError(description: "\(path): row \(number + 2), column \(column): \(problem)")
            }
            rows[row[fileColumn]] = metadata
        }
        self.rows = rows
    }

    /// The row for a slide, by path or file name.
    public func metadata(for input: String) -> WSIMetadata? {
        rows[input] ?? rows[URL(fileURLWithPath: input).lastPathComponent]
    }

    /// Rows that match no input of the batch.
    public func unmatchedRows(_ inputs: [String]) -> [String] {
        let names = Set(inputs + inputs.map { URL(fileURLWithPath: $0).lastPathComponent })
        return rows.keys.filter { !names.contains($0) }.sorted()
    }

    /// RFC 4180 fields: quoted fields may hold commas, quotes ("") and line breaks.
    static func parse(_ text: String) -> [[String]] {
        var rows: [[String]] = []
        var row: [String] = []
        var field = ""
        var quoted = false
        var iterator = Array(text).makeIterator()
        while let c = iterator.next() {
            if quoted {
                if c == "\"" {
                    if let next = iterator.next() {
                        if next == "\"" { field.append("\"") } else {
                            quoted = false
                            if next == "," { row.append(field); field = "" } else if next == "\n" || next == "\r\n" { row.append(field); rows.append(row); row = []; field = "" } else if next != "\r" { field.append(next) }
                        }
                    } else { quoted = false }
                } else { field.append(c) }
            } else if c == "\"" && field.isEmpty {
                quoted = true
            } else if c == "," {
                row.append(field); field = ""
            } else if c == "\n" || c == "\r\n" {
                row.append(field); rows.append(row); row = []; field = ""
            } else if c != "\r" {
                field.append(c)
            }
        }
        if !field.isEmpty || !row.isEmpty { row.append(field); rows.append(row) }
        return rows
    }
}
