import Foundation
import StratusCore

/// Nova as Block Storage calls it, in memory: it records the events and swaps it is asked
/// for; a test plays the rest of Nova's part. `refuseSwaps` answers swaps with Nova's 409.
public actor FakeCompute: ComputeClient {
    public struct Swap: Sendable, Equatable {
        public var server: String
        public var old: String
        public var new: String
    }

    public private(set) var swaps: [Swap] = []
    public private(set) var extended: [(server: String, volume: String)] = []
    private var refusing = false

    public init() {}

    public func refuseSwaps() { refusing = true }

    public func volumeExtended(server: String, volume: String) {
        extended.append((server, volume))
    }

    public func swapVolume(server: String, old: String, new: String) throws {
        if refusing {
            throw ServiceFault(
                service: "compute", status: 409,
                message: "Swapping volumes is only supported as part of a Block Storage volume migration.")
        }
        swaps.append(Swap(server: server, old: old, new: new))
    }
}
