import Foundation
import NIOConcurrencyHelpers
import StratusCore

/// A token bucket per instance for the metadata service: `rate` requests a second, bursts of
/// twice that. A guest looping on the metadata service gets 429 instead of the host's time.
final class MetadataRateLimit: Sendable {
    private struct Bucket {
        var tokens: Double
        var updated: Double
    }

    private let buckets = NIOLockedValueBox<[String: Bucket]>([:])
    let rate: Double

    init(rate: Int) {
        self.rate = Double(max(rate, 1))
    }

    /// Spends one request of `instance`, or throws 429 when its bucket is empty.
    func take(_ instance: String, now: Double = Date().timeIntervalSince1970) throws {
        let allowed = buckets.withLockedValue { buckets in
            let burst = rate * 2
            var bucket = buckets[instance] ?? Bucket(tokens: burst, updated: now)
            bucket.tokens = min(burst, bucket.tokens + (now - bucket.updated) * rate)
            bucket.updated = now
            let allowed = bucket.tokens >= 1
            if allowed { bucket.tokens -= 1 }
            buckets[instance] = bucket
            if buckets.count > 10_000 { buckets = buckets.filter { now - $0.value.updated < 60 } }
            return allowed
        }
        guard allowed else {
            throw APIError(.tooManyRequests, "Too many metadata requests from instance \(instance); slow down.")
        }
    }
}
