import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1

/// Hummingbird's HTTP/1 child channel with `RawTileFastPath` ahead of HTTP/1 decoding and `TileFastPath`
/// right after it, ahead of the conversion to HTTP types and the router (Hummingbird's own extra handlers only go after that
/// conversion). Otherwise the same pipeline as `HTTP1Channel`, with `ConnectionLimiter`'s admission and
/// idle timeout in place of Hummingbird's idle handler (which would not see the fast path's requests).
struct TileHTTP1Channel: ServerChildChannel, HTTPChannelHandler {
    typealias Value = NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>

    let responder: HTTPChannelHandler.Responder
    let makeFastPath: @Sendable () -> TileFastPath
    let limiter: ConnectionLimiter

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        guard let connection = limiter.admit(channel) else {
            return channel.eventLoop.makeFailedFuture(ChannelError.ioOnClosedChannel)
        }
        return channel.eventLoop.makeCompletedFuture {
            let pipeline = channel.pipeline.syncOperations
            try pipeline.configureHTTPServerPipeline(withPipeliningAssistance: false, withErrorHandling: false,
                                                     withOutboundHeaderValidation: false)
            let fastPath = makeFastPath()
            try pipeline.addHandler(RawTileFastPath(answers: fastPath, connection: connection), position: .first)
            try pipeline.addHandler(limiter.handler(for: connection))
            try pipeline.addHandler(fastPath)
            try pipeline.addHandler(HTTP1ToHTTPServerCodec(secure: false))
            try pipeline.addHandler(HTTPConnectionStateHandler(idleTimeout: nil, logger: logger))
            return try NIOAsyncChannel(wrappingChannelSynchronously: channel, configuration: .init(isOutboundHalfClosureEnabled: true))
        }
    }

    func handle(value asyncChannel: Value, logger: Logger) async {
        await handleHTTP(asyncChannel: asyncChannel, logger: logger)
    }
}
