import Logging

extension Logger {
    /// Runs work whose failure must not stop the caller (cleanup after another failure, a
    /// notification, a heartbeat, a history record): an error is logged as a warning naming
    /// `what`, never swallowed, and the answer is nil.
    @discardableResult
    public func bestEffort<T>(
        _ what: @autoclosure () -> String, isolation: isolated (any Actor)? = #isolation, _ body: () async throws -> T
    ) async -> T? {
        await attempt(what, body)
    }

    /// `bestEffort` for work whose answer may itself be absent: nil for absent or failed.
    @discardableResult
    public func bestEffort<T>(
        _ what: @autoclosure () -> String, isolation: isolated (any Actor)? = #isolation, _ body: () async throws -> T?
    ) async -> T? {
        await attempt(what, body) ?? nil
    }

    private func attempt<T>(
        _ what: () -> String, isolation: isolated (any Actor)? = #isolation, _ body: () async throws -> T
    ) async -> T? {
        do {
            return try await body()
        } catch {
            warning("\(what()) failed: \(error)")
            return nil
        }
    }

    /// `bestEffort` for synchronous work.
    @discardableResult
    public func bestEffort<T>(_ what: @autoclosure () -> String, _ body: () throws -> T) -> T? {
        do {
            return try body()
        } catch {
            warning("\(what()) failed: \(error)")
            return nil
        }
    }
}
