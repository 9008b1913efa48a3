import Foundation

/// External events (`network-vif-plugged`) per server, kept until a build waits for them,
/// so an event that arrives before the wait starts is not lost.
actor EventWaiter {
    private var arrived: [String: Set<String>] = [:]
    private var waiters: [String: (expected: Set<String>, continuation: CheckedContinuation<Bool, Never>)] = [:]

    func deliver(instance: String, key: String) {
        arrived[instance, default: []].insert(key)
        if let waiter = waiters[instance], waiter.expected.isSubset(of: arrived[instance] ?? []) {
            waiters[instance] = nil
            waiter.continuation.resume(returning: true)
        }
    }

    /// Waits until every `expected` event of `instance` arrived; false on timeout.
    func wait(instance: String, expected: Set<String>, timeout: Duration) async -> Bool {
        if expected.isSubset(of: arrived[instance] ?? []) {
            arrived[instance] = nil
            return true
        }
        let timer = Task { [weak self] in
            try? await Task.sleep(for: timeout)
            await self?.expire(instance)
        }
        let result = await withCheckedContinuation { continuation in
            waiters[instance] = (expected, continuation)
        }
        timer.cancel()
        arrived[instance] = nil
        return result
    }

    private func expire(_ instance: String) {
        waiters.removeValue(forKey: instance)?.continuation.resume(returning: false)
    }

    func forget(_ instance: String) {
        arrived[instance] = nil
        waiters.removeValue(forKey: instance)?.continuation.resume(returning: false)
    }
}
