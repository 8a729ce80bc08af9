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
        let limit = min(bytes.count, maximumLength)
        var head = RawRequestHead()
        var i = 0
        // Request line: method SP target SP version CRLF.
        let methodStart = i
        while i < limit, isToken(bytes[i]) { i += 1 }
        guard i < limit else { return limit == bytes.count ? .incomplete : .unsupported }
        guard bytes[i] == UInt8(ascii: " "), i > methodStart else { return .unsupported }
        let method = methodStart..<i
        i += 1
        let targetStart = i
        while i < limit, bytes[i] > 0x20, bytes[i] < 0x7F { i += 1 }
        guard i < limit else { return limit == bytes.count ? .incomplete : .unsupported }
        guard bytes[i] == UInt8(ascii: " "), i > targetStart else { return .unsupported }
        head.target = targetStart..<i
        i += 1
        guard i + 10 <= limit else { return limit == bytes.count ? .incomplete : .unsupported }
        guard equals(bytes, i..<i + 7, "HTTP/1."), bytes[i + 8] == UInt8(ascii: "\r"), bytes[i + 9] == UInt8(ascii: "\n") else {
            return .unsupported
        }
        let minor = bytes[i + 7]
        guard minor == UInt8(ascii: "0") || minor == UInt8(ascii: "1") else { return .unsupported }
        i += 10
        var plain = minor == UInt8(ascii: "1") && equals(bytes, method, "GET")
        if equals(bytes, method, "CONNECT") { head.switchesProtocol = true }

        // Header lines: name ":" OWS value OWS CRLF, until an empty line.
        while true {
            guard i + 2 <= limit else { return limit == bytes.count ? .incomplete : .unsupported }
            if bytes[i] == UInt8(ascii: "\r") {
                guard bytes[i + 1] == UInt8(ascii: "\n") else { return .unsupported }
                head.length = i + 2
                break
            }
            let nameStart = i
            while i < limit, isToken(bytes[i]) { i += 1 }
            guard i < limit else { return limit == bytes.count ? .incomplete : .unsupported }
            guard bytes[i] == UInt8(ascii: ":"), i > nameStart else { return .unsupported }
            let name = nameStart..<i
            i += 1
            while i < limit, bytes[i] == UInt8(ascii: " ") || bytes[i] == UInt8(ascii: "\t") { i += 1 }
            let valueStart = i
            var valueEnd = i
            while i < limit, bytes[i] != UInt8(ascii: "\r") {
                let byte = bytes[i]
                guard byte == UInt8(ascii: "\t") || (byte >= 0x20 && byte < 0x7F) else { return .unsupported }
                i += 1
                if byte != UInt8(ascii: " "), byte != UInt8(ascii: "\t") { valueEnd = i }
            }
            guard i + 2 <= limit else { return limit == bytes.count ? .incomplete : .unsupported }
            guard bytes[i + 1] == UInt8(ascii: "\n") else { return .unsupported }
            i += 2
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
        head.isPlainGet = plain
        return .complete(head)
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
