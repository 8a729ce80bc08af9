/// Text from the fixed-size `char` arrays C structs hand back error messages in (imported as tuples).
public enum CString {
    public static func decode<FixedArray>(_ fixedArray: FixedArray) -> String {
        withUnsafeBytes(of: fixedArray) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }
}
