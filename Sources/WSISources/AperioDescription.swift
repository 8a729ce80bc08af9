/// The Aperio ImageDescription: "Aperio Image Library vX\r\nWxH ... |AppMag = 20|MPP = 0.499|Date = 12/29/09|...".
struct AperioDescription: Sendable {
    var fields: [String: String] = [:]

    init?(_ text: String?) {
        guard let text, text.hasPrefix("Aperio") else { return nil }
        for part in text.split(separator: "|").dropFirst() {
            let pair = part.split(separator: "=", maxSplits: 1)
            guard pair.count == 2 else { continue }
            fields[pair[0].trimmingCharacters(in: " \r\n\t")] = pair[1].trimmingCharacters(in: " \r\n\t")
        }
    }

    var mpp: Double? { fields["MPP"].flatMap(Double.init) }
    var appMag: Double? { fields["AppMag"].flatMap(Double.init) }
    var scannerID: String? { fields["ScanScope ID"] }

    /// "Date = 12/29/09" and "Time = 09:59:15" as DICOM DT.
    var acquisitionDateTime: String? {
        guard let date = fields["Date"] else { return nil }
        let d = date.split(separator: "/")
        guard d.count == 3, let month = Int(d[0]), let day = Int(d[1]), var year = Int(d[2]) else { return nil }
        if year < 100 { year += 2000 }
        var result = zeroPadded(year, 4) + zeroPadded(month, 2) + zeroPadded(day, 2)
        if let time = fields["Time"] {
            let t = time.split(separator: ":").compactMap { Int($0) }
            if t.count == 3 { result += zeroPadded(t[0], 2) + zeroPadded(t[1], 2) + zeroPadded(t[2], 2) }
        }
        return result
    }
}

extension Substring {
    func trimmingCharacters(in set: String) -> String {
        var s = self
        while let c = s.first, set.contains(c) { s.removeFirst() }
        while let c = s.last, set.contains(c) { s.removeLast() }
        return String(s)
    }
}

/// `value` as decimal digits, zero-padded on the left to `width`.
func zeroPadded(_ value: Int, _ width: Int) -> String {
    let digits = "\(value)"
    return String(repeating: "0", count: max(0, width - digits.count)) + digits
}
