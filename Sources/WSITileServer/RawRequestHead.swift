import Foundation

/// One HTTP/1 request head read straight from a connection's bytes, for `RawTileFastPath`: where it ends,
/// whether a body follows, and, for a plain `GET`, where its target and the headers a tile answer depends
/// on lie. The scan is strict (RFC 9112's grammar, no obsolete line folding or text, no bare CR or LF, a
/// 16 KiB cap): whatever it does not accept is left to NIO's HTTP decoder, which gives the same answers or errors
/// as before, so being stricter than the decoder only costs speed, never correctness.
struct RawRequestHead {
    /// The head's length in bytes, through the empty line that ends it.
    var length = 0
    /// `GET`, HTTP/1.1, and no header that changes how the request is framed or the connection handled
    /// (`Connection`, `Content-Length`, `Transfer-Encoding`, `Expect`, `Upgrade`), nor a repeated one of
    /// the three below: a request the fast path may answer.
    var isPlainGet = false
    /// A body follows the head (`Content-Length` other than 0, or `Transfer-Encoding`).
    var hasBody = false
    /// An `Upgrade` header or a `CONNECT`: the decoder stops reading the connection as HTTP/1 after it.
    var switchesProtocol = false
    var target: Range<Int> = 0..<0
    var authorization: Range<Int>?
    var accept: Range<Int>?
    var origin: Range<Int>?

    /// The largest head looked at; a longer one goes to the decoder (whose own limit is larger).
    static let maximumLength = 16 << 10

    enum Scan {
        /// The bytes end before the head does.
        case incomplete
        /// Not accepted by this scan: only the decoder may read it.
        case unsupported
        case complete(RawRequestHead)
    }

    /// Scans the head at the start of `bytes`.
    static func scan(_ bytes: UnsafeRawBufferPointer) -> Scan {
        var reader = Reader(bytes: bytes, limit: min(bytes.count, maximumLength))
        do {
            return .complete(try reader.head())
        } catch .ranOut {
            // Past the cap there is no more to wait for.
            return reader.limit == bytes.count ? .incomplete : .unsupported
        } catch {
            return .unsupported
        }
    }

    /// Why a scan stopped short of a head.
    enum Stop: Error {
        /// The bytes (or the cap) end first.
        case ranOut
        /// A byte the grammar does not allow where it stands.
        case refused
    }

    /// The scan's position in the bytes.
    struct Reader {
        let bytes: UnsafeRawBufferPointer
        let limit: Int
        var i = 0

        /// The byte at the position; `ranOut` past the limit.
        func peek(_ offset: Int = 0) throws(Stop) -> UInt8 {
            guard i + offset < limit else { throw .ranOut }
            return bytes[i + offset]
        }

        /// A nonempty run of bytes `accepted`, ended by `delimiter`, which is passed over.
        mutating func run(_ accepted: (UInt8) -> Bool, endedBy delimiter: UInt8) throws(Stop) -> Range<Int> {
            let start = i
            while try accepted(peek()) { i += 1 }
            guard try peek() == delimiter, i > start else { throw .refused }
            i += 1
            return start..<i - 1
        }

        /// CR LF, passed over.
        mutating func lineEnd() throws(Stop) {
            guard try peek() == UInt8(ascii: "\r"), try peek(1) == UInt8(ascii: "\n") else { throw .refused }
            i += 2
        }

        mutating func head() throws(Stop) -> RawRequestHead {
            var head = RawRequestHead()
            // Request line: method SP target SP "HTTP/1." digit CRLF.
            let method = try run(isToken, endedBy: UInt8(ascii: " "))
            head.target = try run({ $0 > 0x20 && $0 < 0x7F }, endedBy: UInt8(ascii: " "))
            for expected in "HTTP/1.".utf8 {
                guard try peek() == expected else { throw .refused }
                i += 1
            }
            let minor = try peek()
            guard minor == UInt8(ascii: "0") || minor == UInt8(ascii: "1") else { throw .refused }
            i += 1
            try lineEnd()
            var plain = minor == UInt8(ascii: "1") && equals(bytes, method, "GET")
            if equals(bytes, method, "CONNECT") { head.switchesProtocol = true }

            // Header lines: name ":" OWS value OWS CRLF, until an empty line.
            while try peek() != UInt8(ascii: "\r") {
                let name = try run(isToken, endedBy: UInt8(ascii: ":"))
                while true {
                    let byte = try peek()
                    guard byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") else { break }
                    i += 1
                }
                let valueStart = i
                var valueEnd = i
                while true {
                    let byte = try peek()
                    if byte == UInt8(ascii: "\r") { break }
                    guard byte == UInt8(ascii: "\t") || (byte >= 0x20 && byte < 0x7F) else { throw .refused }
                    i += 1
                    if byte != UInt8(ascii: " "), byte != UInt8(ascii: "\t") { valueEnd = i }
                }
                try lineEnd()
                let value = valueStart..<valueEnd
                switch name.count {
                case 6 where equalsIgnoringCase(bytes, name, "accept"):
                    if head.accept != nil { plain = false }
                    head.accept = value
                case 6 where equalsIgnoringCase(bytes, name, "origin"):
                    if head.origin != nil { plain = false }
                    head.origin = value
                case 13 where equalsIgnoringCase(bytes, name, "authorization"):
                    if head.authorization != nil { plain = false }
                    head.authorization = value
                case 14 where equalsIgnoringCase(bytes, name, "content-length"):
                    plain = false
                    if !equals(bytes, value, "0") { head.hasBody = true }
                case 17 where equalsIgnoringCase(bytes, name, "transfer-encoding"):
                    plain = false
                    head.hasBody = true
                case 7 where equalsIgnoringCase(bytes, name, "upgrade"):
                    plain = false
                    head.switchesProtocol = true
                case 10 where equalsIgnoringCase(bytes, name, "connection"), 6 where equalsIgnoringCase(bytes, name, "expect"):
                    plain = false
                default:
                    break
                }
            }
            try lineEnd()
            head.length = i
            head.isPlainGet = plain
            return head
        }
    }

    /// Whether `bytes` hold whole request heads with no bodies, back to back, and nothing else: once the
    /// decoder has read such bytes it holds no partial request.
    static func wholeRequestsWithoutBodies(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var rest = bytes
        while !rest.isEmpty {
            guard case .complete(let head) = scan(rest), !head.hasBody, !head.switchesProtocol else { return false }
            rest = UnsafeRawBufferPointer(rebasing: rest[head.length...])
        }
        return true
    }

    /// RFC 9110's tchar.
    static func isToken(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"), UInt8(ascii: "'"),
             UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "^"), UInt8(ascii: "_"),
             UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }

    static func equals(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>, _ text: StaticString) -> Bool {
        guard range.count == text.utf8CodeUnitCount, range.upperBound <= bytes.count, let base = bytes.baseAddress else { return false }
        return memcmp(base + range.lowerBound, text.utf8Start, range.count) == 0
    }

    /// `text` is lower case ASCII.
    static func equalsIgnoringCase(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>, _ text: StaticString) -> Bool {
        guard range.count == text.utf8CodeUnitCount, range.upperBound <= bytes.count else { return false }
        let expected = UnsafeRawBufferPointer(start: text.utf8Start, count: range.count)
        for k in 0..<range.count {
            var byte = bytes[range.lowerBound + k]
            if byte >= UInt8(ascii: "A"), byte <= UInt8(ascii: "Z") { byte |= 0x20 }
            if byte != expected[k] { return false }
        }
        return true
    }

    /// Whether `needle` occurs in `range` of `bytes`.
    static func contains(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>, _ needle: StaticString) -> Bool {
        let length = needle.utf8CodeUnitCount
        guard length > 0, range.count >= length, range.upperBound <= bytes.count, let base = bytes.baseAddress else { return false }
        let first = needle.utf8Start.pointee
        for start in range.lowerBound...(range.upperBound - length) where bytes[start] == first {
            if memcmp(base + start, needle.utf8Start, length) == 0 { return true }
        }
        return false
    }
}
