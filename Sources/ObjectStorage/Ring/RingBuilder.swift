import Foundation

/// Makes and changes rings. Each device should hold its weight's share of the partition
/// copies; a partition's copies go to distinct devices, in distinct zones where there are
/// enough. A rebalance keeps every copy that may stay where it is, so adding a device moves
/// about its share of copies onto it, and nothing between the devices already there.
public struct RingBuilder: Sendable {
    public enum Failure: Error, Equatable, CustomStringConvertible {
        case noDevices
        case badPartPower(Int)
        case duplicateDevice(Int)
        case badWeight(Int)

        public var description: String {
            switch self {
            case .noDevices: return "a ring needs at least one device with a weight above zero"
            case .badPartPower(let power): return "part power \(power) is outside 1...24"
            case .duplicateDevice(let id): return "device id \(id) is used twice"
            case .badWeight(let id): return "device \(id) has a negative or non-finite weight"
            }
        }
    }

    public var partPower: Int
    public var replicas: Int

    public init(partPower: Int = 10, replicas: Int = 3) {
        self.partPower = partPower
        self.replicas = replicas
    }

    /// A ring over `devices`, starting from `previous`'s assignments when there is one.
    public func build(devices: [Ring.Device], previous: Ring? = nil, hashSuffix: String) throws -> Ring {
        guard (1...24).contains(partPower) else { throw Failure.badPartPower(partPower) }
        var seen = Set<Int>()
        for device in devices {
            guard seen.insert(device.id).inserted else { throw Failure.duplicateDevice(device.id) }
            guard device.weight >= 0, device.weight.isFinite else { throw Failure.badWeight(device.id) }
        }
        let usable = devices.filter { $0.weight > 0 }
        guard !usable.isEmpty else { throw Failure.noDevices }
        var plan = Plan(devices: usable, partitions: 1 << partPower, replicas: min(max(replicas, 1), usable.count))
        if let previous, previous.partPower == partPower { plan.keep(previous.assignments) }
        plan.shedExcess()
        plan.fillGaps()
        return Ring(
            partPower: partPower, replicaCount: plan.replicas, devices: devices,
            assignments: plan.slots.map {
                $0.map { $0 ?? -1 }
            }, hashSuffix: hashSuffix)
    }

    /// Where each copy goes while a ring is built.
    struct Plan {
        let devices: [Ring.Device]
        let partitions: Int
        let replicas: Int
        /// `slots[replica][partition]`: a device id, or nil while unassigned.
        var slots: [[Int?]]
        /// Copies each device holds now.
        var held: [Int: Int]
        /// Copies each device should hold (its weight's share, fractional).
        let wanted: [Int: Double]
        let zones: [Int: Int]

        init(devices: [Ring.Device], partitions: Int, replicas: Int) {
            self.devices = devices.sorted { $0.id < $1.id }
            self.partitions = partitions
            self.replicas = replicas
            slots = Array(repeating: Array(repeating: nil, count: partitions), count: replicas)
            held = Dictionary(uniqueKeysWithValues: devices.map { ($0.id, 0) })
            let total = devices.reduce(0) { $0 + $1.weight }
            let copies = Double(partitions * replicas)
            wanted = Dictionary(uniqueKeysWithValues: devices.map { ($0.id, copies * $0.weight / total) })
            zones = Dictionary(uniqueKeysWithValues: devices.map { ($0.id, $0.zone) })
        }

        /// Takes over the previous ring's copies that are on devices still here, once per
        /// partition and device.
        mutating func keep(_ previous: [[Int]]) {
            for partition in 0..<partitions {
                var used = Set<Int>()
                var replica = 0
                for row in previous where partition < row.count && replica < replicas {
                    let device = row[partition]
                    guard held[device] != nil, used.insert(device).inserted else { continue }
                    slots[replica][partition] = device
                    held[device, default: 0] += 1
                    replica += 1
                }
            }
        }

        /// Frees copies of devices holding more than their share, and second copies in one
        /// zone where the partition could have used another.
        mutating func shedExcess() {
            let zoneCount = Set(zones.values).count
            for partition in 0..<partitions {
                var seenZones = Set<Int>()
                for replica in 0..<replicas {
                    guard let device = slots[replica][partition], let zone = zones[device] else { continue }
                    if seenZones.count < zoneCount, !seenZones.insert(zone).inserted {
                        release(replica, partition)
                    }
                }
            }
            // A partition gives up one copy before any gives up two, so the copies freed
            // can all go to the devices that want them.
            for crowded in [false, true] {
                for device in devices {
                    let limit = Int(wanted[device.id, default: 0].rounded(.up))
                    var partition = partitions - 1
                    while held[device.id, default: 0] > limit, partition >= 0 {
                        let free = (0..<replicas).contains { slots[$0][partition] == nil }
                        if crowded || !free,
                            let replica = (0..<replicas).first(where: {
                                slots[$0][partition] == device.id
                            })
                        {
                            release(replica, partition)
                        }
                        partition -= 1
                    }
                }
            }
        }

        /// Gives every free copy the device that most wants more copies, among those in a
        /// zone the partition does not use yet, else any the partition does not use.
        mutating func fillGaps() {
            for partition in 0..<partitions {
                for replica in 0..<replicas where slots[replica][partition] == nil {
                    let used = Set((0..<replicas).compactMap { slots[$0][partition] })
                    let usedZones = Set(used.compactMap { zones[$0] })
                    let free = devices.filter { !used.contains($0.id) }
                    let elsewhere = free.filter { !usedZones.contains($0.zone) }
                    guard let device = hungriest(elsewhere.isEmpty ? free : elsewhere) else { continue }
                    slots[replica][partition] = device
                    held[device, default: 0] += 1
                }
            }
        }

        private func hungriest(_ candidates: [Ring.Device]) -> Int? {
            candidates.max { a, b in
                let left = wanted[a.id, default: 0] - Double(held[a.id, default: 0])
                let right = wanted[b.id, default: 0] - Double(held[b.id, default: 0])
                return left == right ? a.id > b.id : left < right
            }?.id
        }

        private mutating func release(_ replica: Int, _ partition: Int) {
            guard let device = slots[replica][partition] else { return }
            slots[replica][partition] = nil
            held[device, default: 0] -= 1
        }
    }
}
