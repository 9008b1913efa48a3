import Foundation
import Hummingbird
import SQLKit
import StratusCore

/// `/qos-specs`: I/O limits and their association with volume types (admins only).
extension BlockStorageAPI {
    func registerQosSpecs(on router: RouterGroup<StratusContext>) {
        router.post("/qos-specs") { request, context -> Response in
            _ = try qosCaller(context)
            let body = try await request.volumeBody("qos_specs", context: context)
            guard let name = body["name"]?.stringValue?.trimmingCharacters(in: .whitespaces), !name.isEmpty else {
                throw BlockStorageError.invalidInput("Please specify a name for QoS specs.")
            }
            let consumer = body["consumer"]?.stringValue ?? "back-end"
            guard QosSpecs.consumers.contains(consumer) else {
                throw BlockStorageError.invalidInput("Invalid consumer \(consumer): front-end, back-end or both")
            }
            var qos = QosSpecs(name: name, consumer: consumer)
            qos.specs = try Self.metadata(.object(body.filter { !["name", "consumer"].contains($0.key) }))
            let created = qos
            try await db.transaction { db in
                if try await QosSpecs.select(where: "name = \(bind: name)", in: db).first != nil {
                    throw APIError.conflict("QoS Specs \(name) already exists.")
                }
                try await created.insert(in: db)
                try await QosSpecs.values.replace(created.id, with: created.specs, in: db)
            }
            return .json([
                "qos_specs": Self.qosView(created), "links": LinkBase(request, context).links("qos-specs", created.id),
            ])
        }
        router.get("/qos-specs") { _, context -> Response in
            _ = try qosCaller(context)
            let all = try await db.read { db in
                var all: [QosSpecs] = []
                for qos in try await QosSpecs.select(where: "1 = 1", in: db) {
                    if let loaded = try await QosSpecs.load(qos.id, in: db) { all.append(loaded) }
                }
                return all
            }
            return .json(["qos_specs": .array(all.map(Self.qosView))])
        }
        router.get("/qos-specs/:id") { request, context -> Response in
            _ = try qosCaller(context)
            let qos = try await qosSpecs(context)
            return .json([
                "qos_specs": Self.qosView(qos), "links": LinkBase(request, context).links("qos-specs", qos.id),
            ])
        }
        router.put("/qos-specs/:id") { request, context -> Response in
            _ = try qosCaller(context)
            let qos = try await qosSpecs(context)
            let body = try await request.volumeBody("qos_specs", context: context)
            let specs = try Self.metadata(.object(body))
            try await db.transaction { try await QosSpecs.values.merge(qos.id, specs, in: $0) }
            return .json(["qos_specs": .object(specs.mapValues(JSON.string))])
        }
        router.put("/qos-specs/:id/delete_keys") { request, context -> Response in
            _ = try qosCaller(context)
            let qos = try await qosSpecs(context)
            let body = try await request.jsonObject(context: context)
            guard let keys = body["keys"]?.arrayValue?.compactMap(\.stringValue) else {
                throw BlockStorageError.invalidInput("keys is required")
            }
            for key in keys where qos.specs[key] == nil {
                throw APIError.notFound("QoS spec \(key) cannot be found.")
            }
            try await db.transaction { db in
                for key in keys { _ = try await QosSpecs.values.remove(qos.id, key: key, in: db) }
            }
            return Response(status: .accepted)
        }
        router.delete("/qos-specs/:id") { request, context -> Response in
            _ = try qosCaller(context)
            let qos = try await qosSpecs(context)
            let force = try request.boolQuery("force") ?? false
            try await db.transaction { db in
                let types = try await VolumeType.select(where: "qos_specs_id = \(bind: qos.id)", in: db)
                guard types.isEmpty || force else {
                    throw BlockStorageError.invalidInput("QoS Specs \(qos.id) is still associated with entities.")
                }
                for var type in types {
                    type.qosSpecsID = nil
                    try await type.save(in: db)
                }
                try await QosSpecs.values.removeAll(qos.id, in: db)
                try await QosSpecs.delete(qos.id, in: db)
            }
            return Response(status: .accepted)
        }
        router.get("/qos-specs/:id/associations") { _, context -> Response in
            _ = try qosCaller(context)
            let qos = try await qosSpecs(context)
            let types = try await db.read {
                try await VolumeType.select(where: "qos_specs_id = \(bind: qos.id)", in: $0)
            }
            let items: [JSON] = types.map {
                ["association_type": "volume_type", "name": .string($0.name), "id": .string($0.id)]
            }
            return .json(["qos_associations": .array(items)])
        }
        for action in ["associate", "disassociate", "disassociate_all"] {
            router.get(RouterPath("/qos-specs/:id/\(action)")) { request, context -> Response in
                _ = try qosCaller(context)
                let qos = try await qosSpecs(context)
                let typeID = request.formQuery("vol_type_id")
                if action != "disassociate_all", typeID == nil {
                    throw BlockStorageError.invalidInput("vol_type_id is required")
                }
                try await db.transaction { db in
                    if action == "disassociate_all" {
                        for var type in try await VolumeType.select(where: "qos_specs_id = \(bind: qos.id)", in: db) {
                            type.qosSpecsID = nil
                            try await type.save(in: db)
                        }
                        return
                    }
                    guard let id = typeID, var type = try await VolumeType.get(id, in: db) else {
                        throw BlockStorageError.typeNotFound(typeID ?? "")
                    }
                    if action == "associate" {
                        if let current = type.qosSpecsID, current != qos.id {
                            throw BlockStorageError.invalidInput(
                                "Type \(id) is already associated with another qos specs: \(current)")
                        }
                        type.qosSpecsID = qos.id
                    } else if type.qosSpecsID == qos.id {
                        type.qosSpecsID = nil
                    }
                    try await type.save(in: db)
                }
                return Response(status: .accepted)
            }
        }
    }

    private func qosCaller(_ context: StratusContext) throws -> AuthContext {
        let auth = try caller(context)
        try enforce("volume_extension:qos_specs_manage", auth)
        return auth
    }

    private func qosSpecs(_ context: StratusContext) async throws -> QosSpecs {
        let id = context.parameters.get("id") ?? ""
        guard let qos = try await db.read({ try await QosSpecs.load(id, in: $0) }) else {
            throw APIError.notFound("QoS Specs \(id) could not be found.")
        }
        return qos
    }

    static func qosView(_ qos: QosSpecs) -> JSON {
        [
            "id": .string(qos.id), "name": .string(qos.name), "consumer": .string(qos.consumer),
            "specs": .object(qos.specs.mapValues(JSON.string)),
        ]
    }
}
