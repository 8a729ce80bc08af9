import Foundation
import WSIDICOM
import WSITileService

/// A parsed QIDO-RS query (PS3.18 8.3.4): matching keys, includefield, limit and offset. Parsing
/// refuses what it does not understand with a 400 naming the key, so a client learns that its filter
/// was not applied instead of getting everything back.
struct QIDOQuery: Sendable {
    /// One matching key: the values to match (a UID list has several; empty = universal matching).
    struct Filter: Sendable {
        let tag: Tag
        let values: [String]
    }

    var filters: [Filter] = []
    var includeAll = false
    var included: [Tag] = []
    var limit: Int?
    var offset = 0

    /// Query keys handled elsewhere or with no effect on an exact-match server: the token (TileRoutes
    /// reads it) and fuzzymatching (we match names exactly, which the standard allows).
    static let ignoredKeys: Set<String> = ["access_token", "fuzzymatching"]

    init(_ query: [(name: String, value: String)], level: QIDOAttributes.Level) throws {
        var grouped: [(Tag, [String])] = []
        for (name, value) in query {
            switch name {
            case "limit", "offset":
                guard let number = Int(value), number >= 0, number < 1 << 30 else {
                    throw TileServiceError.badRequest("\(name) must be a non-negative integer, not '\(value)'")
                }
                if name == "limit" { limit = number } else { offset = number }
            case "includefield":
                for field in value.split(separator: ",").map({ String($0).trimmingCharacters(in: .whitespaces) }) {
                    if field == "all" { includeAll = true; continue }
                    guard let tag = QIDOAttributes.tag(field) else {
                        throw TileServiceError.badRequest("unknown attribute in includefield: \(field)")
                    }
                    included.append(tag)
                }
            case _ where Self.ignoredKeys.contains(name):
                continue
            default:
                guard let tag = QIDOAttributes.tag(name) else {
                    throw TileServiceError.badRequest("unknown/unsupported QIDO attribute: \(name)")
                }
                guard QIDOAttributes.canMatch(tag, at: level) else {
                    throw TileServiceError.badRequest("\(name) cannot be matched in a \(level) search")
                }
                let values = try Self.values(value, tag: tag, name: name)
                // A repeated key (dicomweb-client sends a list that way) widens the list, as commas do.
                if let index = grouped.firstIndex(where: { $0.0 == tag }) {
                    guard !grouped[index].1.isEmpty, !values.isEmpty else { grouped[index].1 = []; continue }
                    grouped[index].1 += values
                } else {
                    grouped.append((tag, values))
                }
            }
        }
        filters = grouped.map { Filter(tag: $0.0, values: $0.1) }
    }

    /// The values of one key, checked: UIDs may be a list (comma or backslash separated), dates are
    /// YYYYMMDD or a range of them.
    static func values(_ text: String, tag: Tag, name: String) throws -> [String] {
        if text.isEmpty { return [] }
        if tag == .studyInstanceUID || tag == .seriesInstanceUID || tag == .sopInstanceUID || tag == .sopClassUID {
            let uids = text.split(whereSeparator: { $0 == "," || $0 == "\\" }).map(String.init)
            guard !uids.isEmpty, uids.allSatisfy({ $0.count <= 64 && $0.allSatisfy { $0.isNumber || $0 == "." } }) else {
                throw TileServiceError.badRequest("\(name) must be UIDs separated by commas or backslashes: '\(text)'")
            }
            return uids
        }
        if tag == .studyDate {
            guard DateRange(text) != nil else {
                throw TileServiceError.badRequest("\(name) must be YYYYMMDD or a range (YYYYMMDD-YYYYMMDD, YYYYMMDD-, -YYYYMMDD): '\(text)'")
            }
        }
        guard text.count <= 256 else { throw TileServiceError.badRequest("\(name) is too long") }
        return [text]
    }

    /// A DA value or range: `a`, `a-b`, `a-`, `-b`, each 8 digits.
    struct DateRange {
        let from: String?
        let to: String?

        init?(_ text: String) {
            func date(_ part: Substring) -> String?? {
                if part.isEmpty { return .some(nil) }
                return part.count == 8 && part.allSatisfy(\.isASCII) && part.allSatisfy(\.isNumber) ? .some(String(part)) : nil
            }
            let parts = text.split(separator: "-", omittingEmptySubsequences: false)
            switch parts.count {
            case 1:
                guard case .some(.some(let day)) = date(parts[0]) else { return nil }
                from = day; to = day
            case 2:
                guard case .some(let a) = date(parts[0]), case .some(let b) = date(parts[1]), a != nil || b != nil else { return nil }
                from = a; to = b
            default:
                return nil
            }
        }

        func contains(_ day: String) -> Bool {
            guard day.count == 8 else { return false }
            if let from, day < from { return false }
            if let to, day > to { return false }
            return true
        }
    }

    /// Whether the attribute values `actual` (the record's values of the filter's attribute) match.
    static func matches(_ filter: Filter, _ actual: [String]) -> Bool {
        if filter.values.isEmpty { return true }
        if filter.tag == .studyDate {
            guard let value = filter.values.first, let range = DateRange(value) else { return false }
            return actual.contains { range.contains($0) }
        }
        return filter.values.contains { wanted in actual.contains { wildcardMatch(wanted, $0) } }
    }

    /// PS3.4 C.2.2.2.4 wildcard matching: `*` any run, `?` one character; otherwise exact. UIDs are
    /// checked to hold neither, so they match exactly.
    static func wildcardMatch(_ pattern: String, _ text: String) -> Bool {
        if !pattern.contains("*") && !pattern.contains("?") { return pattern == text }
        let p = Array(pattern), t = Array(text)
        var pi = 0, ti = 0, star = -1, mark = 0
        while ti < t.count {
            if pi < p.count && (p[pi] == "?" || p[pi] == t[ti]) {
                pi += 1; ti += 1
            } else if pi < p.count && p[pi] == "*" {
                star = pi; mark = ti; pi += 1
            } else if star >= 0 {
                pi = star + 1; mark += 1; ti = mark
            } else {
                return false
            }
        }
        while pi < p.count && p[pi] == "*" { pi += 1 }
        return pi == p.count
    }
}

/// QIDO-RS searches over the slides in the store: one record per study, series (slide) or instance.
struct QIDOSearch {
    let service: TileService
    let baseURL: String

    /// One result before it becomes JSON: the data set it reads attributes from, and the attributes
    /// computed over the study or series (counts, modalities, transfer syntaxes).
    struct Record {
        let dataSet: DataSet
        var computed: [Tag: [String]]
        let sortKey: [String]
    }

    /// The matching records of `level`, limited to `study` and `series` when the path names them, as
    /// DICOM JSON objects.
    func search(_ level: QIDOAttributes.Level, query: QIDOQuery, study: String? = nil, series: String? = nil) -> [[String: Any]] {
        var slides = service.store.slides
        if let study { slides = slides.filter { $0.studyInstanceUID == study } }
        if let series { slides = slides.filter { $0.id == series } }
        var records = self.records(level, slides: slides).filter { record in
            query.filters.allSatisfy { QIDOQuery.matches($0, values(of: $0.tag, in: record, level: level)) }
        }
        records.sort { $0.sortKey.lexicographicallyPrecedes($1.sortKey) }
        let page = records.dropFirst(query.offset).prefix(query.limit ?? Int.max)
        return page.map { result($0, level: level, query: query) }
    }

    func records(_ level: QIDOAttributes.Level, slides: [Slide]) -> [Record] {
        switch level {
        case .study:
            let byStudy = Dictionary(grouping: slides.filter { !$0.files.isEmpty }, by: \.studyInstanceUID)
            return byStudy.compactMap { uid, series in
                guard let first = series.first?.files.first else { return nil }
                let modalities = Set(series.compactMap { $0.files.first?.dataSet.string(.modality) }).sorted()
                return Record(dataSet: first.dataSet, computed: [
                    QIDOAttributes.modalitiesInStudy: modalities,
                    QIDOAttributes.numberOfStudyRelatedSeries: [String(series.count)],
                    QIDOAttributes.numberOfStudyRelatedInstances: [String(series.reduce(0) { $0 + $1.files.count })],
                    QIDOAttributes.retrieveURL: ["\(baseURL)/dicomweb/studies/\(uid)"],
                ], sortKey: [uid])
            }
        case .series:
            return slides.compactMap { slide in
                guard let first = slide.files.first else { return nil }
                return Record(dataSet: first.dataSet, computed: [
                    QIDOAttributes.numberOfSeriesRelatedInstances: [String(slide.files.count)],
                    QIDOAttributes.retrieveURL: ["\(baseURL)/dicomweb/studies/\(slide.studyInstanceUID)/series/\(slide.id)"],
                ], sortKey: [slide.studyInstanceUID, slide.id])
            }
        case .instance:
            return slides.flatMap { slide in
                slide.files.map { file in
                    let sop = file.dataSet.string(.sopInstanceUID) ?? ""
                    let number = String(format: "%010d", max(0, min(file.dataSet.int(.instanceNumber) ?? 0, 1_000_000_000)))
                    return Record(dataSet: file.dataSet, computed: [
                        QIDOAttributes.availableTransferSyntaxUID: WADOFrames.availableTransferSyntaxes(file),
                        QIDOAttributes.retrieveURL: ["\(baseURL)/dicomweb/studies/\(slide.studyInstanceUID)/series/\(slide.id)/instances/\(sop)"],
                    ], sortKey: [slide.studyInstanceUID, slide.id, number, sop])
                }
            }
        }
    }

    /// The values of `tag` in a record; Modality in a study search is the study's modalities.
    func values(of tag: Tag, in record: Record, level: QIDOAttributes.Level) -> [String] {
        if level == .study && tag == .modality { return record.computed[QIDOAttributes.modalitiesInStudy] ?? [] }
        if let computed = record.computed[tag] { return computed }
        return record.dataSet.strings(tag) ?? []
    }

    /// The JSON of one record: the level's defaults, the matching keys, and what includefield asked for.
    func result(_ record: Record, level: QIDOAttributes.Level, query: QIDOQuery) -> [String: Any] {
        var tags = QIDOAttributes.defaults(level) + query.filters.map(\.tag) + query.included
        var out = DataSet()
        if query.includeAll {
            if level == .instance { out = record.dataSet }
            tags += QIDOAttributes.all(level) + [QIDOAttributes.availableTransferSyntaxUID, QIDOAttributes.retrieveURL]
        }
        for tag in tags {
            if level == .study && tag == .modality { continue }
            if let computed = record.computed[tag] {
                out.set(tag, Self.vr(of: tag), values: computed)
            } else if let value = record.dataSet[tag] {
                out[tag] = value
            }
        }
        return DICOMJSON.object(out)
    }

    static func vr(of tag: Tag) -> VR {
        switch tag {
        case QIDOAttributes.modalitiesInStudy: return .CS
        case QIDOAttributes.availableTransferSyntaxUID: return .UI
        case QIDOAttributes.retrieveURL: return .UR
        default: return .IS
        }
    }
}
