import Logging
import StratusCore

/// The enabled stores, by id, and the one new data goes to.
struct StoreSet: Sendable {
    let all: [any DataStore]
    let defaultID: String
    /// Store id to weight (Glance's store `weight`): data is listed in heavier stores first.
    var weights: [String: Int] = [:]

    /// Store ids by weight, heaviest first, then by id.
    var order: [String] {
        all.map(\.id).sorted { (-(weights[$0] ?? 0), $0) < (-(weights[$1] ?? 0), $1) }
    }

    /// Parses `enabled_backends` (`fast:file,cheap:file`).
    /// `objectStore`: how `swift` stores reach Object Storage (none: no swift store may be enabled).
    static func parse(
        _ spec: String, defaultID: String, weights weightSpec: String = "", directory: String,
        objectStore: (any ObjectStoreClient)? = nil
    ) throws -> StoreSet {
        var stores: [any DataStore] = []
        for item in spec.split(separator: ",") {
            let parts = item.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, !parts[0].isEmpty else { throw ImageConfigError("enabled_backends entry '\(item)' is not id:type") }
            guard parts[0] != "staging", parts[0] != "cache", !stores.contains(where: { $0.id == parts[0] }) else {
                throw ImageConfigError("store id '\(parts[0])' is reserved or repeated")
            }
            switch parts[1] {
            case "file": stores.append(try FileStore(id: parts[0], directory: "\(directory)/\(parts[0])"))
            case "http": stores.append(HTTPStore(id: parts[0]))
            case "swift":
                guard let objectStore else { throw ImageConfigError("store '\(parts[0])': no Object Storage to use") }
                stores.append(
                    try SwiftStore(
                        id: parts[0], client: objectStore, stagingDirectory: "\(directory)/\(parts[0])-staging",
                        logger: Logger(label: "stratus.image.store")))
            default:
                throw ImageConfigError("store '\(parts[0])' has unknown type '\(parts[1])' (known: file, http, swift)")
            }
        }
        guard let first = stores.first(where: \.isWritable) else {
            throw ImageConfigError("enabled_backends names no file or swift store")
        }
        let chosen = defaultID.isEmpty ? first.id : defaultID
        guard stores.contains(where: { $0.id == chosen && $0.isWritable }) else {
            throw ImageConfigError("default_backend '\(chosen)' is not an enabled file or swift store")
        }
        var weights: [String: Int] = [:]
        for item in weightSpec.split(separator: ",") {
            let parts = item.split(separator: ":").map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, let weight = Int(parts[1]), stores.contains(where: { $0.id == parts[0] }) else {
                throw ImageConfigError("store_weights entry '\(item)' is not id:weight of an enabled store")
            }
            weights[parts[0]] = weight
        }
        return StoreSet(all: stores, defaultID: chosen, weights: weights)
    }

    subscript(id: String) -> (any DataStore)? { all.first { $0.id == id } }

    /// Stores imports may write to.
    var writable: [any DataStore] { all.filter(\.isWritable) }

    /// The store image locations at http(s) URLs belong to, if one is enabled.
    var httpStore: (any DataStore)? { all.first { $0.type == "http" } }

    var defaultStore: any DataStore { self[defaultID] ?? all[0] }
}

struct ImageConfigError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
