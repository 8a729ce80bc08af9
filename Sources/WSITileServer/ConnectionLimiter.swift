import Foundation
import Logging
import NIOCore
import NIOHTTP1
import Synchronization

/// Keeps connections from exhausting the process's file descriptors: at most `maximum` are open at once,
/// and one idle for `idleTimeout` is closed. When a new connection would pass the maximum, the one idle
/// the longest is closed to make room (new clients get served while idle ones wait); only when every
/// connection is busy is the new one refused. Without this, 1,100 idle connections under `ulimit -n 1024`
/// left new clients hanging and made the folder's rescan fail.
public final class ConnectionLimiter: Sendable {
    public let maximum: Int
    public let idleTimeout: TimeAmount
    private let logger: Logger?
    private let open = Mutex<[ObjectIdentifier: Connection]>([:])
    /// When a refusal was last logged (uptime in nanoseconds), so that a flood logs once a second.
    private let lastWarning = Atomic<UInt64>(0)

    /// One open connection, as the limiter sees it.
    final class Connection: Sendable {
        let channel: any Channel
        /// Since when it has had no request in progress (uptime nanoseconds); 0 while a request is.
        let idleSince: Atomic<UInt64>

        init(channel: any Channel) {
            self.channel = channel
            idleSince = Atomic(NIODeadline.now().uptimeNanoseconds)
        }
    }

    public init(maximum: Int, idleTimeout: TimeAmount, logger: Logger? = nil) {
        self.maximum = max(1, maximum)
        self.idleTimeout = idleTimeout
        self.logger = logger
    }

    /// The default maximum for a descriptor limit: a quarter of it (at most 256) is kept for the files the
    /// requests read, the folder's scan and logs.
    public static func defaultMaximum(descriptorLimit: Int) -> Int {
        max(8, descriptorLimit - min(256, descriptorLimit / 4))
    }

    /// The soft limit on open descriptors, raised to the hard limit first (as nginx's `worker_rlimit_nofile`).
    public static func raiseDescriptorLimit() -> Int {
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1024 }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = min(limit.rlim_max, 1 << 20)
            if setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
        }
        return Int(clamping: limit.rlim_cur)
    }

    public var openCount: Int { open.withLock { $0.count } }

    /// Registers a new connection; nil when it must be refused (it is then closed).
    func admit(_ channel: any Channel) -> Connection? {
        let connection = Connection(channel: channel)
        let key = ObjectIdentifier(channel)
        let (admitted, evicted): (Bool, (any Channel)?) = open.withLock { open in
            var evicted: (any Channel)?
            if open.count >= maximum {
                // The connection idle the longest makes room.
                var oldest: (key: ObjectIdentifier, since: UInt64)?
                for (key, other) in open {
                    let since = other.idleSince.load(ordering: .relaxed)
                    if since != 0, since < oldest?.since ?? .max { oldest = (key, since) }
                }
                guard let oldest, let victim = open.removeValue(forKey: oldest.key) else { return (false, nil) }
                evicted = victim.channel
            }
            open[key] = connection
            return (true, evicted)
        }
        evicted?.close(promise: nil)
        guard admitted else {
            warnRefused()
            channel.close(promise: nil)
            return nil
        }
        channel.closeFuture.whenComplete { [weak self] _ in
            self?.open.withLock { _ = $0.removeValue(forKey: key) }
        }
        return connection
    }

    private func warnRefused() {
        let now = NIODeadline.now().uptimeNanoseconds
        let last = lastWarning.load(ordering: .relaxed)
        guard now &- last > 1_000_000_000,
              lastWarning.compareExchange(expected: last, desired: now, ordering: .relaxed).exchanged else { return }
        logger?.warning("refusing connections: all \(maximum) allowed are busy (--max-connections)")
    }

    /// The handler that keeps `connection`'s idle time, placed right after HTTP/1 decoding so that it sees
    /// every request, including those the fast path answers.
    func handler(for connection: Connection) -> IdleConnectionCloser {
        IdleConnectionCloser(connection: connection, timeout: idleTimeout)
    }
}

/// Closes its connection once it has had no request in progress for `timeout`. A request whose head
/// has not arrived in full counts as none, so a client that trickles its headers is closed too.
final class IdleConnectionCloser: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private let connection: ConnectionLimiter.Connection
    private let timeout: TimeAmount
    private var inProgress = 0
    private var check: Scheduled<Void>?

    init(connection: ConnectionLimiter.Connection, timeout: TimeAmount) {
        self.connection = connection
        self.timeout = timeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        schedule(context, in: timeout)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        check?.cancel()
        check = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head = unwrapInboundIn(data) {
            inProgress += 1
            connection.idleSince.store(0, ordering: .relaxed)
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data), inProgress > 0 {
            inProgress -= 1
            if inProgress == 0 { connection.idleSince.store(NIODeadline.now().uptimeNanoseconds, ordering: .relaxed) }
        }
        context.write(data, promise: promise)
    }

    /// Checks once per `timeout` rather than rescheduling on every request, which would cost a timer each.
    private func schedule(_ context: ChannelHandlerContext, in delay: TimeAmount) {
        check = context.eventLoop.assumeIsolated().scheduleTask(in: delay) { [weak self] in
            guard let self else { return }
            let since = connection.idleSince.load(ordering: .relaxed)
            guard since != 0 else { return schedule(context, in: timeout) }
            let idle = Int64(NIODeadline.now().uptimeNanoseconds &- since)
            if idle >= timeout.nanoseconds {
                context.close(promise: nil)
            } else {
                schedule(context, in: .nanoseconds(timeout.nanoseconds - idle))
            }
        }
    }
}
