import Foundation
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing
import WSIDICOM
@testable import WSITileServer
import WSITileService

/// `RawTileFastPath`: tile requests answered from the connection's bytes, ahead of the HTTP decoder.
/// Whatever it does not answer must get the router's answer, in request order.
@Suite("Raw fast path", .serialized)
struct RawFastPathTests {
    let server = TileServerTests()

    func scan(_ text: String) -> RawRequestHead.Scan {
        Array(text.utf8).withUnsafeBytes { RawRequestHead.scan($0) }
    }

    func head(_ text: String) -> RawRequestHead? {
        if case .complete(let head) = scan(text) { return head }
        return nil
    }

    @Test("Request heads are scanned strictly: what the scan does not accept is left to the decoder")
    func scanning() throws {
        let plain = "GET /wsi/tiles/1.2/0/3/4 HTTP/1.1\r\nHost: x\r\nACCEPT:  image/webp,image/*  \r\nauthorization: Bearer t\r\n\r\n"
        let parsed = try #require(head(plain))
        #expect(parsed.length == plain.utf8.count && parsed.isPlainGet && !parsed.hasBody)
        let bytes = Array(plain.utf8)
        #expect(String(decoding: bytes[parsed.target], as: UTF8.self) == "/wsi/tiles/1.2/0/3/4")
        #expect(String(decoding: bytes[try #require(parsed.accept)], as: UTF8.self) == "image/webp,image/*")
        #expect(String(decoding: bytes[try #require(parsed.authorization)], as: UTF8.self) == "Bearer t")
        #expect(parsed.origin == nil)

        // Every prefix of a head is incomplete, never complete or refused.
        for end in 0..<plain.utf8.count {
            let prefix = String(decoding: bytes[..<end], as: UTF8.self)
            guard case .incomplete = scan(prefix) else { Issue.record("prefix of \(end) bytes"); continue }
        }
        // Heads the decoder must answer, whole but not plain GETs.
        for (text, hasBody) in [("HEAD / HTTP/1.1\r\nHost: x\r\n\r\n", false),
                                ("GET / HTTP/1.0\r\n\r\n", false),
                                ("GET / HTTP/1.1\r\nConnection: close\r\n\r\n", false),
                                ("GET / HTTP/1.1\r\nExpect: 100-continue\r\n\r\n", false),
                                ("GET / HTTP/1.1\r\nAccept: a\r\nAccept: b\r\n\r\n", false),
                                ("GET / HTTP/1.1\r\nContent-Length: 0\r\n\r\n", false),
                                ("POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\n", true),
                                ("GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", true)] {
            let parsed = try #require(head(text), "\(text)")
            #expect(!parsed.isPlainGet && parsed.hasBody == hasBody, "\(text)")
        }
        #expect(head("GET / HTTP/1.1\r\nUpgrade: websocket\r\n\r\n")?.switchesProtocol == true)
        #expect(head("CONNECT a:1 HTTP/1.1\r\n\r\n")?.switchesProtocol == true)
        // Refused: bare LF, obsolete folding, a space before the colon, a control byte or obs-text in a
        // value, an unknown version, no method, two spaces, a CR without LF.
        for text in ["GET / HTTP/1.1\nHost: x\n\n", "GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n", "GET / HTTP/1.1\r\nHost : x\r\n\r\n",
                     "GET / HTTP/1.1\r\nA: \u{1}\r\n\r\n", "GET / HTTP/1.1\r\nA: é\r\n\r\n", "GET / HTTP/2.0\r\n\r\n",
                     " / HTTP/1.1\r\n\r\n", "GET  / HTTP/1.1\r\n\r\n", "GET / HTTP/1.1\r\nA: b\rc\r\n\r\n", "GET / HTTP/1.1\r\n\rx"] {
            guard case .unsupported = scan(text) else { Issue.record("accepted: \(text.debugDescription)"); continue }
        }
        // Past 16 KiB with no end: refused, not waited for.
        guard case .unsupported = scan("GET / HTTP/1.1\r\nA: " + String(repeating: "a", count: 17_000)) else {
            Issue.record("an endless head is waited for")
            return
        }

        func whole(_ text: String) -> Bool { Array(text.utf8).withUnsafeBytes(RawRequestHead.wholeRequestsWithoutBodies) }
        #expect(whole(plain + plain + "HEAD / HTTP/1.1\r\n\r\n"))
        #expect(!whole(plain + "GET / HTTP/1.1\r\nHo"))
        #expect(!whole("POST / HTTP/1.1\r\nContent-Length: 2\r\n\r\nab" + plain))
        #expect(!whole("GET / HTTP/1.1\r\nUpgrade: h2c\r\n\r\n"))
    }

    /// Stands for the router: holds the requests it is given until told to answer them.
    final class HeldRouter: ChannelDuplexHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundIn = HTTPServerResponsePart
        typealias OutboundOut = HTTPServerResponsePart
        var held: [String] = []

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            if case .head(let head) = unwrapInboundIn(data) { held.append(head.uri) }
        }

        func answer(_ context: ChannelHandlerContext) {
            let uri = held.removeFirst()
            var body = context.channel.allocator.buffer(capacity: 64)
            body.writeString("router:\(uri)")
            var headers = HTTPHeaders()
            headers.add(name: "Content-Length", value: String(body.readableBytes))
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
    }

    @Test("A tile asked for while the router's answer is awaited, or while the socket takes no more, goes to the router (an embedded channel)")
    func orderWhileTheRouterWorks() async throws {
        let fixture = try await TileServerTests.servedFixture()
        let library = SlideLibrary(root: fixture.served + "/ours")
        library.rescan()
        let service = TileService(store: library)
        let slide = try #require(library.slides.first)
        let frame = try #require(slide.levels[0].frame(col: 0, row: 0))
        let stored = try frame.file.frameData(frame.index)

        let channel = EmbeddedChannel()
        let fastPath = TileFastPath(service: service, settings: .init(token: nil, corsOrigins: [], accessLog: nil))
        let router = HeldRouter()
        try channel.pipeline.syncOperations.configureHTTPServerPipeline(withPipeliningAssistance: false, withErrorHandling: false)
        try channel.pipeline.syncOperations.addHandler(RawTileFastPath(answers: fastPath, connection: nil), position: .first)
        try channel.pipeline.syncOperations.addHandler(fastPath)
        try channel.pipeline.syncOperations.addHandler(router)
        let routerContext = try channel.pipeline.syncOperations.context(handler: router)
        func send(_ text: String) throws { try channel.writeInbound(channel.allocator.buffer(string: text)) }
        func sent() throws -> String {
            var all = channel.allocator.buffer(capacity: 0)
            while var part = try channel.readOutbound(as: ByteBuffer.self) { all.writeBuffer(&part) }
            return String(buffer: all)
        }
        let tile = "GET /wsi/tiles/\(slide.id)/0/0/0 HTTP/1.1\r\nHost: t\r\n\r\n"

        try send(tile)
        #expect(try sent().utf8.count > stored.count, "a tile with nothing pending is answered at once")
        try send("GET /api/slides HTTP/1.1\r\nHost: t\r\n\r\n")
        try send(tile)
        #expect(try sent().isEmpty, "the tile overtook the router's answer")
        #expect(router.held == ["/api/slides", "/wsi/tiles/\(slide.id)/0/0/0"])
        router.answer(routerContext)
        router.answer(routerContext)
        let answers = try sent()
        #expect(answers.hasSuffix("router:/wsi/tiles/\(slide.id)/0/0/0") && answers.contains("router:/api/slides"))
        // Nothing pending again: answered ahead of the router.
        try send(tile)
        let last = try sent()
        #expect(last.hasPrefix("HTTP/1.1 200 OK\r\nContent-Type: image/jpeg") && router.held.isEmpty)
        // A socket that takes no more (a client not reading): the tile goes to the router, which waits for it,
        // rather than piling answers up in memory.
        channel.isWritable = false
        try send(tile)
        #expect(try sent().isEmpty && router.held == ["/wsi/tiles/\(slide.id)/0/0/0"])
        _ = try channel.finish()
    }

    @Test("Split heads, bodies, PNG wanted, header case and a closing request: the router's answers, in order")
    func mixedConnection() async throws {
        let fixture = try await TileServerTests.servedFixture()
        try await server.withServer(root: fixture.served, token: "s3cret") { client, service in
            let slide = try #require(service.store.slides.first { $0.levels[0].encoding == .jpeg })
            let frame = try #require(slide.levels[0].frame(col: 0, row: 0))
            let stored = try frame.file.frameData(frame.index)
            let tile = "GET /api/slides/\(slide.id)/tiles/0/0/0 HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer s3cret\r\n"
            let split = tile.utf8.count / 2
            let port = try #require(client.port)
            // A head split across two reads: answered once whole.
            let first = try await server.rawHTTPOffPool(port: port, chunks: [
                tile + "\r\n" + String(decoding: Array(tile.utf8)[..<split], as: UTF8.self),
                String(decoding: Array(tile.utf8)[split...], as: UTF8.self) + "\r\n" + tile + "Connection: close\r\n\r\n",
            ])
            #expect(first.map(\.status) == [200, 200, 200] && first.allSatisfy { $0.body == stored }, "\(first.map(\.status))")
            // A PNG wanted amid tiles, the header's name in another case, a wrong token, a body.
            let answers = try await server.rawHTTPOffPool(port: port, chunks: [
                tile + "\r\n" + tile + "Accept: image/png\r\n\r\n" + tile + "\r\n",
                tile.replacingOccurrences(of: "Authorization", with: "aUTHORIZATION") + "\r\n",
                tile.replacingOccurrences(of: "s3cret", with: "s3creT") + "\r\n",
                "POST /api/slides HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer s3cret\r\nContent-Length: 5\r\n\r\nhello" + tile + "\r\n",
                tile + "Connection: close\r\n\r\n",
            ])
            #expect(answers.map(\.status) == [200, 200, 200, 200, 401, 405, 200, 200], "\(answers.map(\.status))")
            guard answers.count == 8 else { return }
            for k in [0, 2, 3, 6, 7] {
                #expect(answers[k].body == stored && answers[k].headers["content-type"] == "image/jpeg", "answer \(k)")
            }
            #expect(answers[1].headers["content-type"] == "image/png" && answers[1].body.starts(with: [0x89, 0x50, 0x4E, 0x47]))
        }
    }

    @Test("3,000 pipelined tile requests read only later: every answer, in order, none lost")
    func pipelinedFlood() async throws {
        let fixture = try await TileServerTests.servedFixture()
        try await server.withServer(root: fixture.served) { client, service in
            let slide = try #require(service.store.slides.first { $0.levels[0].encoding == .jpeg })
            let level = slide.levels[0]
            let cells = (0..<level.tilesDown).flatMap { row in (0..<level.tilesAcross).map { (col: $0, row: row) } }
            var expected: [Data] = []
            var requests = ""
            for k in 0..<3_000 {
                let cell = cells[k % cells.count]
                let frame = try #require(level.frame(col: cell.col, row: cell.row))
                expected.append(try frame.file.frameData(frame.index))
                requests += "GET /wsi/tiles/\(slide.id)/0/\(cell.col)/\(cell.row) HTTP/1.1\r\nHost: t\r\n"
                    + (k == 2_999 ? "Connection: close\r\n\r\n" : "\r\n")
            }
            let answers = try await server.rawHTTPOffPool(port: try #require(client.port), chunks: [requests], readDelay: 2)
            #expect(answers.count == 3_000)
            #expect(answers.allSatisfy { $0.status == 200 })
            let wrong = zip(answers, expected).enumerated().filter { $0.element.0.body != $0.element.1 }.map(\.offset)
            #expect(wrong.isEmpty, "answers out of order or wrong: \(wrong.prefix(10))")
        }
    }
}
