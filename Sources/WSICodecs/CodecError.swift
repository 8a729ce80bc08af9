/// A codec failed on some bytes; the message says which codec and why.
public struct CodecError: Error, CustomStringConvertible, Sendable {
    public let codec: String
    public let message: String
    public init(_ codec: String, _ message: String) { self.codec = codec; self.message = message }
    public var description: String { "\(codec): \(message)" }
}
