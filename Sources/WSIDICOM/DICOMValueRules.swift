/// What PS3.5 6.2 allows in each value representation we write, applied to every value whatever its
/// source: the slide file, the scanner's metadata, `--metadata` or a batch CSV. A file name of 160
/// characters or a backslash in a barcode must not become a 200-byte LO or a second value, which readers
/// refuse or read differently. Lengths are counted in bytes of UTF-8 (ISO_IR 192), as validators count
/// them, and cut on a character boundary.
public enum DICOMValueRules {
    /// LO, SH and the like: one value, no backslash (the value separator) and no control characters,
    /// trimmed, at most `maxBytes`.
    public static func text(_ value: String, maxBytes: Int) -> String {
        let cleaned = String(String.UnicodeScalarView(value.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F || $0 == "\\" ? " " : $0 }))
        return prefix(cleaned.trimmingSpaces, maxBytes: maxBytes).trimmingSpaces
    }

    /// LT, ST, UT: backslashes allowed, control characters besides TAB, LF, FF, CR and ESC not.
    public static func longText(_ value: String, maxBytes: Int) -> String {
        let allowed: Set<UInt32> = [0x09, 0x0A, 0x0C, 0x0D, 0x1B]
        let cleaned = String(String.UnicodeScalarView(value.unicodeScalars.map { ($0.value < 0x20 && !allowed.contains($0.value)) || $0.value == 0x7F ? " " : $0 }))
        return prefix(cleaned, maxBytes: maxBytes)
    }

    /// PN: one value of up to three component groups (`=`), each at most 64 bytes.
    public static func personName(_ value: String) -> String {
        let groups = text(value, maxBytes: 64 * 3 + 2).split(separator: "=", maxSplits: 2, omittingEmptySubsequences: false)
        return groups.map { prefix(String($0), maxBytes: 64) }.joined(separator: "=")
    }

    /// CS: upper-case letters, digits, space and underscore, at most 16; nil when the value has others.
    public static func codeString(_ value: String) -> String? {
        let trimmed = value.trimmingSpaces
        guard trimmed.utf8.count <= 16, trimmed.utf8.allSatisfy({ (0x41...0x5A).contains($0) || (0x30...0x39).contains($0) || $0 == 0x20 || $0 == 0x5F }) else { return nil }
        return trimmed
    }

    /// UI: components of digits without leading zeros, separated by dots, at most 64 bytes.
    public static func isUID(_ value: String) -> Bool {
        guard !value.isEmpty, value.utf8.count <= 64 else { return false }
        return value.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { component in
            !component.isEmpty && component.allSatisfy { $0.isASCII && $0.isNumber } && (component == "0" || component.first != "0")
        }
    }

    /// DA: YYYYMMDD, a real calendar day.
    public static func isDate(_ value: String) -> Bool {
        let digits = Array(value.utf8)
        guard digits.count == 8, digits.allSatisfy({ (0x30...0x39).contains($0) }),
              let year = Int(value.prefix(4)), let month = Int(value.dropFirst(4).prefix(2)), let day = Int(value.suffix(2)) else { return false }
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        return (1...12).contains(month) && (1...days[month - 1]).contains(day)
    }

    /// TM: HH[MM[SS[.F{1,6}]]].
    public static func isTime(_ value: String) -> Bool {
        let parts = value.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        let main = parts[0]
        guard [2, 4, 6].contains(main.count), main.allSatisfy({ $0.isASCII && $0.isNumber }) else { return false }
        let numbers = stride(from: 0, to: main.count, by: 2).map { Int(main.dropFirst($0).prefix(2)) ?? 99 }
        guard numbers[0] < 24, numbers.count < 2 || numbers[1] < 60, numbers.count < 3 || numbers[2] < 60 else { return false }
        if parts.count == 2 {
            guard main.count == 6, (1...6).contains(parts[1].count), parts[1].allSatisfy({ $0.isASCII && $0.isNumber }) else { return false }
        }
        return true
    }

    /// DT: YYYY[MM[DD[HH[MM[SS[.F{1,6}]]]]]], without an offset.
    public static func isDateTime(_ value: String) -> Bool {
        guard value.utf8.count <= 26, value.count >= 4 else { return false }
        let date = String(value.prefix(8)), time = String(value.dropFirst(8))
        switch date.count {
        case 4: return time.isEmpty && isDate(date + "0101")
        case 6: return time.isEmpty && isDate(date + "01")
        default: return isDate(date) && (time.isEmpty || isTime(time))
        }
    }

    /// The longest prefix of at most `maxBytes` bytes that ends on a character boundary.
    static func prefix(_ value: String, maxBytes: Int) -> String {
        guard value.utf8.count > maxBytes else { return value }
        var result = ""
        var bytes = 0
        for character in value {
            let size = character.utf8.count
            guard bytes + size <= maxBytes else { break }
            result.append(character)
            bytes += size
        }
        return result
    }
}
