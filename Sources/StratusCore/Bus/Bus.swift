import Foundation

/// A JSON envelope on the bus: the method, its arguments, and the caller's context
/// (request id, user, project, roles, token) so the callee acts as the caller.
public struct BusMessage: Sendable {
    public var method: String
    public var args: JSON
    public var version: String
    public var context: JSON

    public init(method: String, args: JSON = [:], version: String = "1.0", context: JSON = [:]) {
        self.method = method
        self.args = args
        self.version = version
        self.context = context
    }

    public var envelope: JSON {
        ["method": .string(method), "args": args, "version": .string(version), "context": context]
    }

    public init(envelope: JSON) throws {
        guard let method = envelope["method"]?.stringValue else { throw BusError.malformed("message has no method") }
        self.init(
            method: method, args: envelope["args"] ?? [:], version: envelope["version"]?.stringValue ?? "1.0",
            context: envelope["context"] ?? [:])
    }
}

public enum BusError: Error, Equatable, CustomStringConvertible {
    case noListener(topic: String)
    case timeout(topic: String, method: String)
    case remote(String)
    case malformed(String)

    public var description: String {
        switch self {
        case .noListener(let topic): return "no server listens on topic \(topic)"
        case .timeout(let topic, let method): return "timed out calling \(method) on \(topic)"
        case .remote(let message): return "remote error: \(message)"
        case .malformed(let message): return "malformed message: \(message)"
        }
    }
}

public typealias BusHandler = @Sendable (BusMessage) async throws -> JSON

/// RPC between the processes of one service (OpenStack's oslo.messaging pattern):
/// `call` waits for a reply, `cast` is fire-and-forget with at-least-once delivery (handlers
/// must be idempotent), `fanout` reaches every server of a topic.
public protocol BusTransport: Sendable {
    /// Registers `server` on `topic`; it receives messages sent to `topic` and `topic.server`.
    func listen(topic: String, server: String, handler: @escaping BusHandler) async throws
    func call(topic: String, server: String?, message: BusMessage, timeout: Duration) async throws -> JSON
    func cast(topic: String, server: String?, message: BusMessage) async throws
    func fanout(topic: String, message: BusMessage) async throws
}

extension BusTransport {
    public func call(topic: String, server: String? = nil, method: String, args: JSON = [:], timeout: Duration = .seconds(60)) async throws -> JSON {
        try await call(topic: topic, server: server, message: BusMessage(method: method, args: args), timeout: timeout)
    }

    public func cast(topic: String, server: String? = nil, method: String, args: JSON = [:]) async throws {
        try await cast(topic: topic, server: server, message: BusMessage(method: method, args: args))
    }
}
