import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

/// The explorer's HTTP/1.1 server: SwiftNIO's event loop and parser, a guard for hostile clients, and
/// `ExplorerApp` for the answers. Computations never run on the event loop (see `ComputeGate`).
///
/// What keeps it serving:
/// - a request head (request line and headers) larger than `maxHeadBytes` is answered 431 and the
///   connection closed, before NIO's parser has buffered more of it;
/// - a request head that takes longer than `headDeadline` to arrive (slowloris) is answered 408 and closed;
/// - a connection idle for `idleTimeout` between requests is closed;
/// - at most `maxConnections` are open at once (newer ones are closed at once);
/// - a request body (the explorer has no use for one) larger than `maxBodyBytes` is answered 413 and closed.
public final class ExplorerServer: @unchecked Sendable {
    public struct Limits: Sendable {
        public var maxHeadBytes = 64 * 1024
        public var maxBodyBytes = 64 * 1024
        public var headDeadline: TimeAmount = .seconds(10)
        public var idleTimeout: TimeAmount = .seconds(60)
        public var maxConnections = 1024
        /// Upload bytes being received at once, over all connections (beyond: 503).
        public var maxUploadBytesInFlight = 256 << 20
        public init() {}
    }

    public let app: ExplorerApp
    public let limits: Limits
    private let group: MultiThreadedEventLoopGroup
    private var channel: Channel?
    private let connections = NIOLockedValueBox(0)
    private let uploadBytes = NIOLockedValueBox(0)

    public init(app: ExplorerApp, limits: Limits = Limits()) {
        self.app = app
        self.limits = limits
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    }

    /// Binds and starts serving; returns the bound port (useful with port 0).
    @discardableResult
    public func start(host: String, port: Int) throws -> Int {
        Self.raiseOpenFileLimit()
        let limits = self.limits, app = self.app, connections = self.connections, uploadBytes = self.uploadBytes
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: 512)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                let admitted = connections.withLockedValue { n -> Bool in
                    guard n < limits.maxConnections else { return false }
                    n += 1
                    return true
                }
                guard admitted else { return channel.close() }
                channel.closeFuture.whenComplete { _ in connections.withLockedValue { $0 -= 1 } }
                let state = ConnectionState()
                return channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    try sync.addHandler(RequestGuard(state: state, limits: limits))
                    try sync.configureHTTPServerPipeline(withErrorHandling: true)
                    try sync.addHandler(IdleStateHandler(allTimeout: limits.idleTimeout))
                    try sync.addHandler(RequestHandler(app: app, state: state, limits: limits, uploadBytes: uploadBytes))
                }
            }
            .childChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(ChannelOptions.maxMessagesPerRead, value: 16)
        let ch = try bootstrap.bind(host: host, port: port).wait()
        channel = ch
        return ch.localAddress?.port ?? port
    }

    /// Blocks until the server is closed.
    public func wait() throws { try channel?.closeFuture.wait() }

    public func stop() {
        app.jobs.stopAll()
        try? channel?.close().wait()
        try? group.syncShutdownGracefully()
    }

    public var openConnections: Int { connections.withLockedValue { $0 } }

    /// Many slow clients each hold a socket: lift the soft limit on open files to the hard one.
    static func raiseOpenFileLimit() {
        var l = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &l) == 0, l.rlim_cur < l.rlim_max else { return }
        l.rlim_cur = min(l.rlim_max, 65_536)
        _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &l)
    }
}

/// Per-connection state the guard and the handler share (both run on the connection's event loop).
final class ConnectionState {
    /// Between requests: waiting for (the rest of) a request head.
    var awaitingHead = true
    var headBytes = 0
    var deadline: Scheduled<Void>?
    var closing = false
}

/// Sits before NIO's HTTP decoder and counts the bytes of each request head: too many, or too slow,
/// and the connection gets a short JSON answer and is closed.
final class RequestGuard: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    let state: ConnectionState
    let limits: ExplorerServer.Limits

    init(state: ConnectionState, limits: ExplorerServer.Limits) { self.state = state; self.limits = limits }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !state.closing else { return }
        if state.awaitingHead {
            let buffer = unwrapInboundIn(data)
            state.headBytes += buffer.readableBytes
            if state.deadline == nil {
                let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
                state.deadline = context.eventLoop.scheduleTask(in: limits.headDeadline) {
                    let (me, ctx) = loopBound.value
                    if me.state.awaitingHead && !me.state.closing {
                        me.refuse(context: ctx, status: "408 Request Timeout", message: "the request head took longer than \(me.limits.headDeadline.nanoseconds / 1_000_000_000) s to arrive")
                    }
                }
            }
            if state.headBytes > limits.maxHeadBytes {
                refuse(context: context, status: "431 Request Header Fields Too Large",
                       message: "request line and headers larger than \(limits.maxHeadBytes) bytes")
                return
            }
        }
        context.fireChannelRead(data)
    }

    func channelInactive(context: ChannelHandlerContext) {
        state.deadline?.cancel()
        state.closing = true
        context.fireChannelInactive()
    }

    /// Writes a complete response directly to the socket (below the HTTP encoder) and closes.
    func refuse(context: ChannelHandlerContext, status: String, message: String) {
        state.closing = true
        state.deadline?.cancel()
        let body = "{\"error\":\"\(message)\"}"
        let text = "HTTP/1.1 \(status)\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: \(body.utf8.count)\r\nconnection: close\r\n\r\n\(body)"
        var buffer = context.channel.allocator.buffer(capacity: text.utf8.count)
        buffer.writeString(text)
        context.writeAndFlush(NIOAny(buffer)).whenComplete { _ in context.close(promise: nil) }
    }
}

/// Answers each request through `ExplorerApp` (off the event loop) and frames the reply.
final class RequestHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let app: ExplorerApp
    let state: ConnectionState
    let limits: ExplorerServer.Limits
    private var head: HTTPRequestHead?
    private var bodyBytes = 0
    private var bodyLimit = 0
    private var body: [UInt8] = []
    private var inFlight = 0
    /// Called when the connection closes while an event stream is open.
    private var cancelStream: (@Sendable () -> Void)?

    /// Upload bytes held by every connection's handler, and this one's share.
    let uploadBytes: NIOLockedValueBox<Int>
    private var reserved = 0

    init(app: ExplorerApp, state: ConnectionState, limits: ExplorerServer.Limits, uploadBytes: NIOLockedValueBox<Int>) {
        self.app = app; self.state = state; self.limits = limits; self.uploadBytes = uploadBytes
    }

    /// Counts `n` more bytes of an upload against the server-wide cap; false when they do not fit.
    func reserve(_ n: Int) -> Bool {
        let cap = limits.maxUploadBytesInFlight
        let ok = uploadBytes.withLockedValue { total -> Bool in
            guard total + n <= cap else { return false }
            total += n
            return true
        }
        if ok { reserved += n }
        return ok
    }

    func releaseUpload() {
        guard reserved > 0 else { return }
        let n = reserved
        reserved = 0
        uploadBytes.withLockedValue { $0 -= n }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h):
            state.awaitingHead = false
            state.headBytes = 0
            state.deadline?.cancel()
            state.deadline = nil
            head = h
            bodyBytes = 0
            body = []
            bodyLimit = ExplorerApp.bodyLimit(method: h.method.rawValue, uri: h.uri, standard: limits.maxBodyBytes)
            // A declared length over the limit is refused before a byte of the body is read.
            if let declared = h.headers.first(name: "content-length").flatMap({ Int($0) }), declared > bodyLimit {
                head = nil
                send(context: context, Reply.error(413, "request body of \(declared) bytes is larger than \(Self.sizeText(bodyLimit))"), keepAlive: false, headOnly: false)
            }
        case .body(var b):
            guard head != nil else { return }
            bodyBytes += b.readableBytes
            if bodyBytes > bodyLimit {
                head = nil
                body = []
                releaseUpload()
                send(context: context, Reply.error(413, "request body larger than \(Self.sizeText(bodyLimit))"), keepAlive: false, headOnly: false)
                return
            }
            if bodyLimit > limits.maxBodyBytes {
                guard reserve(b.readableBytes) else {
                    head = nil
                    body = []
                    releaseUpload()
                    send(context: context, Reply.error(503, "busy: other uploads are being received (at most \(Self.sizeText(limits.maxUploadBytesInFlight)) at once); try again in a moment"),
                         keepAlive: false, headOnly: false)
                    return
                }
                if let bytes = b.readBytes(length: b.readableBytes) { body.append(contentsOf: bytes) }
            }
        case .end:
            state.awaitingHead = true
            guard let h = head else { return }
            head = nil
            let keepAlive = h.isKeepAlive
            let request = ExplorerApp.Request(method: h.method.rawValue, uri: h.uri, body: body, lastEventID: h.headers.first(name: "last-event-id"))
            body = []
            let method = request.method
            inFlight += 1
            let promise = context.eventLoop.makePromise(of: Reply.self)
            let app = self.app
            promise.completeWithTask { await app.respond(request) }
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            promise.futureResult.whenSuccess { reply in
                let (me, ctx) = loopBound.value
                me.releaseUpload()
                if reply.stream != nil && reply.status == 200 && method == "GET" {
                    me.startStream(context: ctx, reply)
                    return
                }
                me.inFlight -= 1
                me.send(context: ctx, reply, keepAlive: keepAlive, headOnly: method == "HEAD")
            }
        }
    }

    static func sizeText(_ bytes: Int) -> String {
        bytes >= 1 << 20 ? "\(bytes >> 20) MiB" : bytes >= 1024 ? "\(bytes >> 10) KiB" : "\(bytes) bytes"
    }

    /// Sends the head of an event stream, then each frame the reply's stream hands over (from any thread),
    /// chunked; the last frame ends the response and closes the connection. The connection counts as busy
    /// meanwhile (no idle close); if it closes first, the stream is told.
    func startStream(context: ChannelHandlerContext, _ reply: Reply) {
        guard context.channel.isActive, let stream = reply.stream else { inFlight -= 1; return }
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: reply.contentType)
        for (k, v) in reply.headers { headers.add(name: k, value: v) }
        headers.add(name: "Connection", value: "close")
        context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
        let loop = context.eventLoop
        let loopBound = NIOLoopBound((self, context), eventLoop: loop)
        let finished = NIOLockedValueBox(false)
        let send: @Sendable ([UInt8], Bool) -> Void = { frame, last in
            loop.execute {
                let (me, ctx) = loopBound.value
                guard ctx.channel.isActive, !finished.withLockedValue({ $0 }) else { return }
                if !frame.isEmpty {
                    var buffer = ctx.channel.allocator.buffer(capacity: frame.count)
                    buffer.writeBytes(frame)
                    ctx.write(me.wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
                }
                if last {
                    finished.withLockedValue { $0 = true }
                    me.cancelStream = nil
                    ctx.writeAndFlush(me.wrapOutboundOut(.end(nil))).whenComplete { _ in ctx.close(promise: nil) }
                } else {
                    ctx.flush()
                }
            }
        }
        let cancel = stream(send)
        if finished.withLockedValue({ $0 }) { return }
        cancelStream = cancel
    }

    func channelInactive(context: ChannelHandlerContext) {
        releaseUpload()
        if let c = cancelStream { cancelStream = nil; c() }
        context.fireChannelInactive()
    }

    func send(context: ChannelHandlerContext, _ reply: Reply, keepAlive: Bool, headOnly: Bool) {
        guard context.channel.isActive else { return }
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: reply.contentType)
        headers.add(name: "Content-Length", value: "\(reply.body.count)")
        for (k, v) in reply.headers { headers.add(name: k, value: v) }
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        let status = HTTPResponseStatus(statusCode: reply.status)
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
        if !headOnly && !reply.body.isEmpty {
            var buffer = context.channel.allocator.buffer(capacity: reply.body.count)
            buffer.writeBytes(reply.body)
            context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        }
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !keepAlive { done.whenComplete { _ in context.close(promise: nil) } }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent, inFlight == 0 {
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}
