import Foundation
import Logging

/// The all-in-one transport: topics are dictionaries of handlers in this process.
public actor InProcessBus: BusTransport {
    private var servers: [String: [(name: String, handler: BusHandler)]] = [:]
    private var nextIndex: [String: Int] = [:]
    /// Casts and fanouts answer nobody: their handlers' errors are logged here.
    private let logger: Logger

    public init(logger: Logger = Logger(label: "stratus.bus")) {
        self.logger = logger
    }

    public func listen(topic: String, server: String, handler: @escaping BusHandler) {
        servers[topic, default: []].removeAll { $0.name == server }
        servers[topic, default: []].append((server, handler))
    }

    /// The handler for one message: the named server, or the next server round-robin.
    private func pick(topic: String, server: String?) throws -> BusHandler {
        let candidates = servers[topic] ?? []
        if let server {
            guard let match = candidates.first(where: { $0.name == server }) else {
                throw BusError.noListener(topic: "\(topic).\(server)")
            }
            return match.handler
        }
        guard !candidates.isEmpty else { throw BusError.noListener(topic: topic) }
        let index = (nextIndex[topic] ?? 0) % candidates.count
        nextIndex[topic] = index + 1
        return candidates[index].handler
    }

    public func call(topic: String, server: String?, message: BusMessage, timeout: Duration) async throws -> JSON {
        let handler = try pick(topic: topic, server: server)
        return try await withThrowingTaskGroup(of: JSON.self) { group in
            group.addTask { try await handler(message) }
            group.addTask {
                try await Task.sleep(for: timeout)
                throw BusError.timeout(topic: topic, method: message.method)
            }
            defer { group.cancelAll() }
            guard let result = try await group.next() else {
                throw BusError.timeout(topic: topic, method: message.method)
            }
            return result
        }
    }

    public func cast(topic: String, server: String?, message: BusMessage) throws {
        let handler = try pick(topic: topic, server: server)
        Task { [logger] in await logger.bestEffort("\(message.method) cast to \(topic)") { try await handler(message) } }
    }

    public func fanout(topic: String, message: BusMessage) {
        for (_, handler) in servers[topic] ?? [] {
            Task { [logger] in await logger.bestEffort("\(message.method) fanout to \(topic)") { try await handler(message) } }
        }
    }
}
