import Crypto
import Foundation

/// Where Object Storage keeps each account, container and object, as Swift's ring: a path
/// hashes (MD5, with the cluster's secret suffix) to one of 2^`partPower` partitions, and
/// each partition has `replicaCount` copies on distinct devices, spread over zones first.
/// A ring is made and changed by `RingBuilder`; reading one is pure lookup.
public struct Ring: Sendable, Codable, Equatable {
    /// A directory on one disk that holds partitions.
    public struct Device: Sendable, Codable, Equatable, Hashable {
        public var id: Int
        /// Devices in one zone may fail together (a host, a rack); replicas avoid sharing one.
        public var zone: Int
        /// The share of the partitions this device holds, relative to the others' weights.
        public var weight: Double
        public var path: String

        public init(id: Int, zone: Int, weight: Double, path: String) {
            self.id = id
            self.zone = zone
            self.weight = weight
            self.path = path
        }
    }

    public let partPower: Int
    /// The copies of each partition: the builder's replica count, or fewer when there are
    /// fewer devices.
    public let replicaCount: Int
    public let devices: [Device]
    /// `assignments[replica][partition]` is the id of the device holding that copy.
    public let assignments: [[Int]]
    /// Mixed into every path's hash, so that partitions cannot be predicted from names.
    public let hashSuffix: String

    public var partitionCount: Int { 1 << partPower }

    /// The partition of an account, a container or an object.
    public func partition(account: String, container: String? = nil, object: String? = nil) -> Int {
        var path = "/" + account
        if let container { path += "/" + container }
        if let object { path += "/" + object }
        let digest = Array(Insecure.MD5.hash(data: Data((path + hashSuffix).utf8)))
        let top = digest.prefix(4).reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        return Int(top >> UInt32(32 - partPower))
    }

    /// The devices holding `partition`, first replica first.
    public func devices(forPartition partition: Int) -> [Device] {
        let byID = Dictionary(uniqueKeysWithValues: devices.map { ($0.id, $0) })
        return assignments.compactMap { byID[$0[partition]] }
    }
}
