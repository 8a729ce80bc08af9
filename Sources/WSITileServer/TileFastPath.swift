import Foundation
import Logging
import NIOCore
import NIOHTTP1
import WSITileService

/// Answers the hottest request, a tile that needs no work (a stored JPEG frame, or an image already in
/// the cache), straight from the channel pipeline, right after HTTP/1 decoding: at tens of thousands of
/// tiles per second the framework's per-request cost (HTTP type conversion, request context, router,
/// middleware chain, response writer) is most of the time. Every other request, and any tile request
/// that is not plainly answerable here (a query string, a PNG wanted, a missing token, an unknown slide
/// or tile, a `Connection` header, HTTP/1.0), goes on to the router unchanged, which gives the same
/// answers and errors.
///
/// Most ready tiles are answered before this, from the connection's bytes (`RawTileFastPath`, which
/// builds its answers here); this handler answers those that came through the decoder (a head split
/// across reads, a connection that sent a body) and keeps count of the router's responses awaited.
///
/// Responses stay in request order: it answers only when no request it passed on is still waiting for
/// its response, and only while the socket takes more (else the router answers, waiting for it).
final class TileFastPath: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    /// What the fast path must honour of the server's settings.
    struct Settings: Sendable {
        var token: String?
        var corsOrigins: [String]
        var accessLog: AccessLog?
    }

    private let service: TileService
    let settings: Settings
    /// Requests passed on to the router whose responses have not ended yet.
    private var passedOn = 0
    /// The whole response (head and body) to send when the request being read ends.
    private var answer: ByteBuffer?
    private var answerPath = ""
    private var answering = false
    private var date = HTTPDate()
    /// Whether every response the router sent on this connection said its length: then the response
    /// encoder frames no body (it keeps the last response's chunked framing for the next body part), so an
    /// answer encoded here passes through it as it is.
    private var encoderFramesNothing = true

    init(service: TileService, settings: Settings) {
        self.service = service
        self.settings = settings
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        switch part {
        case .head(let request):
            if passedOn == 0, encoderFramesNothing, context.channel.isWritable, let response = readyResponse(request, allocator: context.channel.allocator) {
                answering = true
                answer = response
                answerPath = request.uri
                return
            }
            passedOn += 1
            context.fireChannelRead(data)
        case .body:
            if !answering { context.fireChannelRead(data) }
        case .end:
            guard answering else { return context.fireChannelRead(data) }
            answering = false
            if let response = answer {
                settings.accessLog?.record(method: "GET", path: answerPath, status: 200)
                // Head and body already encoded, as one body part: no header dictionary, one buffer
                // and one write. `.end` tells the handlers before this one that the response ended.
                context.write(wrapOutboundOut(.body(.byteBuffer(response))), promise: nil)
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            }
            answer = nil
            answerPath = ""
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let head):
            if !head.headers.contains(name: "content-length") { encoderFramesNothing = false }
        case .end:
            if passedOn > 0 { passedOn -= 1 }
        case .body:
            break
        }
        context.write(data, promise: promise)
    }

    /// Whether no request is in progress past this handler: no response of the router's is awaited and
    /// none is being answered here. `RawTileFastPath` answers ahead of the decoder only then, so that
    /// responses stay in request order.
    var isIdle: Bool { passedOn == 0 && !answering }

    /// The encoded 200 response for a tile `request` asks for, when it can be sent as it is; nil to let
    /// the router answer (it gives the same answer, or the error: a frame that cannot be read here is
    /// left to it).
    private func readyResponse(_ request: HTTPRequestHead, allocator: ByteBufferAllocator) -> ByteBuffer? {
        guard request.method == .GET, request.version == .http1_1, !request.headers.contains(name: "connection"),
              let (id, level, col, row) = Self.tileAddress(request.uri) else { return nil }
        if let token = settings.token, request.headers.first(name: "authorization") != "Bearer \(token)" { return nil }
        if let accept = request.headers.first(name: "accept"), accept.contains("image/png"), !accept.contains("image/jpeg") { return nil }
        return tileResponse(id: id, level: level, col: col, row: row, origin: request.headers.first(name: "origin"), allocator: allocator)
    }

    /// The encoded 200 response (head and body in one buffer, the body read straight into it) of a tile
    /// that is ready to send (a stored JPEG frame or a cached image); nil when it is not. The caller has
    /// checked the request's method, version, token and `Accept`.
    func tileResponse(id: String, level: Int, col: Int, row: Int, origin: String?, allocator: ByteBufferAllocator) -> ByteBuffer? {
        guard let slide = service.store.slide(id),
              let bytes = service.readyTileBytes(slide: slide, level: level, col: col, row: row) else { return nil }
        let count: Int
        let mediaType: String
        switch bytes {
        case .file(_, _, let total): count = total; mediaType = "image/jpeg"
        case .image(let image): count = image.data.count; mediaType = image.mediaType
        }
        var buffer = allocator.buffer(capacity: 256 + count)
        buffer.writeStaticString("HTTP/1.1 200 OK\r\nContent-Type: ")
        buffer.writeString(mediaType)
        buffer.writeStaticString("\r\nContent-Length: ")
        buffer.writeString(String(count))
        buffer.writeStaticString("\r\nCache-Control: public, max-age=3600\r\nDate: ")
        buffer.writeString(date.now())
        buffer.writeStaticString("\r\nServer: dicomizer\r\n")
        if let origin, let allowed = allowedOrigin(origin), !allowed.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) {
            buffer.writeStaticString("Access-Control-Allow-Origin: ")
            buffer.writeString(allowed)
            buffer.writeStaticString("\r\nVary: Origin\r\n")
        }
        buffer.writeStaticString("\r\n")
        switch bytes {
        case .file(let source, let ranges, _):
            do {
                for range in ranges {
                    try buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: range.count) { free in
                        try source.read(range.lowerBound, into: UnsafeMutableRawBufferPointer(rebasing: free[..<range.count]))
                        return range.count
                    }
                }
            } catch {
                return nil
            }
        case .image(let image):
            buffer.writeBytes(image.data)
        }
        return buffer
    }

    private func allowedOrigin(_ origin: String) -> String? {
        if settings.corsOrigins.contains("*") { return "*" }
        return settings.corsOrigins.contains(origin) ? origin : nil
    }

    /// (id, level, col, row) of `/api/slides/{id}/tiles/{level}/{col}/{row}` or
    /// `/wsi/tiles/{id}/{level}/{col}/{row}`; nil for anything else, including any query string.
    static func tileAddress(_ uri: String) -> (String, Int, Int, Int)? {
        var uri = uri
        return uri.withUTF8 { tileAddress(UnsafeRawBufferPointer($0)) }
    }

    /// `tileAddress` of a request target's bytes.
    static func tileAddress(_ target: UnsafeRawBufferPointer) -> (String, Int, Int, Int)? {
        let bytes = target.assumingMemoryBound(to: UInt8.self)
        guard let base = bytes.baseAddress else { return nil }
        // Split on "/" by hand: this runs for every request.
        var parts: [Range<Int>] = []
        var start = 0
        for (i, byte) in bytes.enumerated() {
            if byte == UInt8(ascii: "?") || parts.count > 8 { return nil }
            if byte == UInt8(ascii: "/") { parts.append(start..<i); start = i + 1 }
        }
        parts.append(start..<bytes.count)
        func equals(_ range: Range<Int>, _ text: StaticString) -> Bool {
            range.count == text.utf8CodeUnitCount && memcmp(base + range.lowerBound, text.utf8Start, range.count) == 0
        }
        func number(_ range: Range<Int>) -> Int? {
            guard !range.isEmpty, range.count <= 9 else { return nil }
            var value = 0
            for i in range {
                let digit = Int(bytes[i]) - 48
                guard digit >= 0, digit <= 9 else { return nil }
                value = value * 10 + digit
            }
            return value
        }
        let id: Range<Int>
        let first: Int
        if parts.count == 8, parts[0].isEmpty, equals(parts[1], "api"), equals(parts[2], "slides"), equals(parts[4], "tiles") {
            id = parts[3]
            first = 5
        } else if parts.count == 7, parts[0].isEmpty, equals(parts[1], "wsi"), equals(parts[2], "tiles") {
            id = parts[3]
            first = 4
        } else {
            return nil
        }
        guard !id.isEmpty, id.count <= 256, let level = number(parts[first]), let col = number(parts[first + 1]),
              let row = number(parts[first + 2]) else { return nil }
        return (String(decoding: UnsafeBufferPointer(rebasing: bytes[id]), as: UTF8.self), level, col, row)
    }
}

/// The `Date` header's value, formatted once per second.
struct HTTPDate {
    private var second = 0
    private var text = ""

    mutating func now() -> String {
        var seconds = time(nil)
        if seconds != second {
            var parts = tm()
            gmtime_r(&seconds, &parts)
            var buffer = [CChar](repeating: 0, count: 64)
            let count = strftime(&buffer, buffer.count, "%a, %d %b %Y %H:%M:%S GMT", &parts)
            text = String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            second = seconds
        }
        return text
    }
}
