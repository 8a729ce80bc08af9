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
/// Responses stay in request order: it answers only when no request it passed on is still waiting for
/// its response.
final class TileFastPath: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    /// What the fast path must honour of the server's settings.
    struct Settings: Sendable {
        var token: String?
        var corsOrigins: [String]
        var logger: Logger?
    }

    private let service: TileService
    private let settings: Settings
    /// Requests passed on to the router whose responses have not ended yet.
    private var passedOn = 0
    /// The tile to send when the request being read ends.
    private var answer: EncodedImage?
    private var answerOrigin: String?
    private var answering = false
    private var date = HTTPDate()

    init(service: TileService, settings: Settings) {
        self.service = service
        self.settings = settings
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        switch part {
        case .head(let request):
            if passedOn == 0, let tile = readyTile(request) {
                answering = true
                answer = tile
                answerOrigin = request.headers.first(name: "origin")
                settings.logger?.info("Request", metadata: ["hb.request.path": .string(request.uri), "hb.request.method": "GET"])
                return
            }
            passedOn += 1
            context.fireChannelRead(data)
        case .body:
            if !answering { context.fireChannelRead(data) }
        case .end:
            guard answering else { return context.fireChannelRead(data) }
            answering = false
            if let tile = answer { send(tile, origin: answerOrigin, context: context) }
            answer = nil
            answerOrigin = nil
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data), passedOn > 0 { passedOn -= 1 }
        context.write(data, promise: promise)
    }

    private func send(_ tile: EncodedImage, origin: String?, context: ChannelHandlerContext) {
        var headers: HTTPHeaders = ["Content-Type": tile.mediaType, "Content-Length": String(tile.data.count),
                                    "Cache-Control": "public, max-age=3600", "Date": date.now(), "Server": "dicomizer"]
        if let origin, let allowed = allowedOrigin(origin) {
            headers.add(name: "Access-Control-Allow-Origin", value: allowed)
            headers.add(name: "Vary", value: "Origin")
        }
        var body = context.channel.allocator.buffer(capacity: tile.data.count)
        _ = tile.data.withUnsafeBytes { body.writeBytes($0) }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    private func allowedOrigin(_ origin: String) -> String? {
        if settings.corsOrigins.contains("*") { return "*" }
        return settings.corsOrigins.contains(origin) ? origin : nil
    }

    /// The tile `request` asks for, when it can be sent as it is; nil to let the router answer.
    private func readyTile(_ request: HTTPRequestHead) -> EncodedImage? {
        guard request.method == .GET, request.version == .http1_1, !request.headers.contains(name: "connection"),
              let (id, level, col, row) = Self.tileAddress(request.uri) else { return nil }
        if let token = settings.token, request.headers.first(name: "authorization") != "Bearer \(token)" { return nil }
        if let accept = request.headers.first(name: "accept"), accept.contains("image/png"), !accept.contains("image/jpeg") { return nil }
        guard let slide = service.store.slide(id) else { return nil }
        return service.readyTile(slide: slide, level: level, col: col, row: row)
    }

    /// (id, level, col, row) of `/api/slides/{id}/tiles/{level}/{col}/{row}` or
    /// `/wsi/tiles/{id}/{level}/{col}/{row}`; nil for anything else, including any query string.
    static func tileAddress(_ uri: String) -> (String, Int, Int, Int)? {
        var uri = uri
        return uri.withUTF8 { bytes -> (String, Int, Int, Int)? in
            // Split on "/" by hand: this runs for every request.
            var parts: [Range<Int>] = []
            var start = 0
            for (i, byte) in bytes.enumerated() {
                if byte == UInt8(ascii: "?") || parts.count > 8 { return nil }
                if byte == UInt8(ascii: "/") { parts.append(start..<i); start = i + 1 }
            }
            parts.append(start..<bytes.count)
            func equals(_ range: Range<Int>, _ text: StaticString) -> Bool {
                range.count == text.utf8CodeUnitCount && memcmp(bytes.baseAddress! + range.lowerBound, text.utf8Start, range.count) == 0
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
