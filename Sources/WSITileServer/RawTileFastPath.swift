import Foundation
import NIOCore

/// Answers plain tile requests from the connection's bytes, ahead of NIO's HTTP decoder: the first
/// handler of the pipeline, as nginx answers from its own buffer. Past `TileFastPath`, each ready tile
/// still cost the decoder's parse and header dictionary, three handlers' hops each way and the response
/// encoder's; here a request costs a scan of its head (`RawRequestHead`) and one write, straight to the
/// socket. The response is `TileFastPath`'s, so the answer is the same either way.
///
/// Everything it does not answer goes on to the decoder unchanged, and it answers only while the decoder
/// holds no part of a request and no response is awaited past it (`TileFastPath.isIdle`), so responses
/// stay in request order. Once it has passed on bytes that do not end at a request boundary it can
/// follow (a head split across reads, a body), it passes everything on for the rest of the connection.
final class RawTileFastPath: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let answers: TileFastPath
    private let connection: ConnectionLimiter.Connection?
    /// `Authorization`'s value when a token is set: `Bearer TOKEN`.
    private let authorization: [UInt8]?
    /// Set once bytes the decoder may hold part of have gone to it.
    private var passingEverything = false

    init(answers: TileFastPath, connection: ConnectionLimiter.Connection?) {
        self.answers = answers
        self.connection = connection
        authorization = answers.settings.token.map { Array("Bearer \($0)".utf8) }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if passingEverything { return context.fireChannelRead(data) }
        var buffer = unwrapInboundIn(data)
        var answered = false
        while buffer.readableBytes > 0, answers.isIdle, writable(context) {
            let reply = buffer.withUnsafeReadableBytes { bytes -> (length: Int, response: ByteBuffer)? in
                guard case .complete(let head) = RawRequestHead.scan(bytes), head.isPlainGet,
                      let response = response(head, bytes, allocator: context.channel.allocator) else { return nil }
                return (head.length, response)
            }
            guard let reply else { break }
            buffer.moveReaderIndex(forwardBy: reply.length)
            context.write(wrapOutboundOut(reply.response), promise: nil)
            answered = true
        }
        if answered {
            context.flush()
            connection?.idleSince.store(NIODeadline.now().uptimeNanoseconds, ordering: .relaxed)
        }
        guard buffer.readableBytes > 0 else { return }
        if !buffer.withUnsafeReadableBytes(RawRequestHead.wholeRequestsWithoutBodies) { passingEverything = true }
        context.fireChannelRead(wrapInboundOut(buffer))
    }

    /// Whether the socket takes more now (the answers written are flushed first if not). A client that
    /// sends requests without reading the answers would otherwise make them pile up in memory: past the
    /// write buffer's high mark, requests go to the router, which waits for the socket.
    private func writable(_ context: ChannelHandlerContext) -> Bool {
        if context.channel.isWritable { return true }
        context.flush()
        return context.channel.isWritable
    }

    /// The response to `head`, a plain GET, when it asks for a tile that is ready to send; nil otherwise.
    /// The checks are `TileFastPath`'s, on bytes.
    private func response(_ head: RawRequestHead, _ bytes: UnsafeRawBufferPointer, allocator: ByteBufferAllocator) -> ByteBuffer? {
        guard let (id, level, col, row) = TileFastPath.tileAddress(UnsafeRawBufferPointer(rebasing: bytes[head.target])) else { return nil }
        if let authorization {
            // Compared in full whatever differs, so that the time taken tells nothing of the token.
            guard let given = head.authorization, given.count == authorization.count,
                  zip(bytes[given], authorization).reduce(0, { $0 | ($1.0 ^ $1.1) }) == 0 else { return nil }
        }
        if let accept = head.accept, RawRequestHead.contains(bytes, accept, "image/png"),
           !RawRequestHead.contains(bytes, accept, "image/jpeg") { return nil }
        let origin = head.origin.map { String(decoding: UnsafeRawBufferPointer(rebasing: bytes[$0]), as: UTF8.self) }
        guard let response = answers.tileResponse(id: id, level: level, col: col, row: row, origin: origin, allocator: allocator)
        else { return nil }
        if let log = answers.settings.accessLog {
            log.record(method: "GET", path: String(decoding: UnsafeRawBufferPointer(rebasing: bytes[head.target]), as: UTF8.self), status: 200)
        }
        return response
    }
}
