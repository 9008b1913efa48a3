import Foundation

/// The ring kept beside the data (`object.ring.json`): made on first start from the
/// configured devices, rebalanced with minimal movement when they change.
struct RingFile {
    let path: String

    func load(devices: [Ring.Device], builder: RingBuilder) throws -> Ring {
        var previous: Ring?
        if FileManager.default.fileExists(atPath: path) {
            previous = try JSONDecoder().decode(Ring.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
        }
        if let previous, previous.devices == devices, previous.partPower == builder.partPower,
            previous.replicaCount == min(builder.replicas, devices.filter { $0.weight > 0 }.count)
        {
            return previous
        }
        let suffix = previous?.hashSuffix ?? UUID().uuidString.lowercased()
        let ring = try builder.build(devices: devices, previous: previous, hashSuffix: suffix)
        // .atomic writes a temporary file and renames it over the old ring.
        try JSONEncoder().encode(ring).write(to: URL(fileURLWithPath: path), options: .atomic)
        return ring
    }
}
