import Foundation

/// One method of a bus topic, with the Codable types of its arguments and its reply: the
/// caller and the handler agree on them at compile time, and the bus carries them as JSON.
public struct RPCMethod<Args: Codable & Sendable, Reply: Codable & Sendable>: Sendable {
    public let topic: String
    public let name: String

    public init(topic: String, _ name: String) {
        self.topic = topic
        self.name = name
    }
}

/// The answer of a method that answers nothing.
public struct NoReply: Codable, Sendable, Equatable {
    public init() {}
}

/// The handlers of one topic's server, one per method, dispatched by method name.
public struct RPCHandlers: Sendable {
    public let topic: String
    private var table: [String: @Sendable (JSON) async throws -> JSON] = [:]

    public init(topic: String) {
        self.topic = topic
    }

    public mutating func on<Args, Reply>(
        _ method: RPCMethod<Args, Reply>, _ handler: @escaping @Sendable (Args) async throws -> Reply
    ) {
        precondition(method.topic == topic, "\(method.name) belongs to \(method.topic), not \(topic)")
        let name = method.name
        table[name] = { json in
            let args: Args
            do {
                args = try RPCCoding.decode(Args.self, from: json)
            } catch {
                throw BusError.malformed("arguments of \(name): \(error)")
            }
            return try RPCCoding.encode(try await handler(args))
        }
    }

    public var methods: [String] { table.keys.sorted() }

    public func handle(_ message: BusMessage) async throws -> JSON {
        guard let handler = table[message.method] else { throw BusError.remote("unknown method \(message.method)") }
        return try await handler(message.args)
    }
}

extension BusTransport {
    /// Sends `args` to `method` (on one server of its topic, or any) without waiting.
    public func cast<Args, Reply>(
        _ method: RPCMethod<Args, Reply>, to server: String? = nil, _ args: Args
    ) async throws {
        let message = BusMessage(method: method.name, args: try RPCCoding.encode(args))
        try await cast(topic: method.topic, server: server, message: message)
    }

    /// Calls `method` and waits for its typed reply.
    public func call<Args, Reply>(
        _ method: RPCMethod<Args, Reply>, on server: String? = nil, _ args: Args, timeout: Duration = .seconds(60)
    ) async throws -> Reply {
        let message = BusMessage(method: method.name, args: try RPCCoding.encode(args))
        let reply = try await call(topic: method.topic, server: server, message: message, timeout: timeout)
        return try RPCCoding.decode(Reply.self, from: reply)
    }

    /// Sends `args` to `method` on every server of its topic.
    public func fanout<Args, Reply>(_ method: RPCMethod<Args, Reply>, _ args: Args) async throws {
        let message = BusMessage(method: method.name, args: try RPCCoding.encode(args))
        try await fanout(topic: method.topic, message: message)
    }

    /// Serves `handlers` as `server` of their topic.
    public func listen(_ handlers: RPCHandlers, server: String) async throws {
        try await listen(topic: handlers.topic, server: server) { message in try await handlers.handle(message) }
    }
}

/// Codable values to and from the bus's JSON.
enum RPCCoding {
    static func encode<T: Encodable>(_ value: T) throws -> JSON {
        if value is NoReply { return [:] }
        return try JSON.parse(Array(JSONEncoder().encode(value)))
    }

    static func decode<T: Decodable>(_ type: T.Type, from json: JSON) throws -> T {
        if let none = NoReply() as? T { return none }
        return try JSONDecoder().decode(T.self, from: Data(json.serializedBytes()))
    }
}
