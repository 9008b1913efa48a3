import Foundation
import HTTPTypes
import Hummingbird
import SQLKit
import StratusCore

/// Objects, properties and tags of a namespace.
extension ImageAPI {
    // MARK: Objects

    func registerMetadefObjects(on router: Router<StratusContext>) {
        router.get("/v2/metadefs/namespaces/:namespace/objects") { _, context in
            let auth = try context.requireAuth()
            let body = try await db.read { db in
                let namespace = try await readableNamespace(context, auth: auth, rule: "get_metadef_objects", in: db)
                let objects = try await metadefs.objects(namespace: namespace.namespace, in: db)
                return JSON.object([
                    "objects": .array(objects.map { $0.rendered(namespace: namespace.namespace) }), "schema": "/v2/schemas/metadefs/objects",
                ])
            }
            return Response.json(body)
        }
        router.post("/v2/metadefs/namespaces/:namespace/objects") { request, context in
            let auth = try context.requireAuth()
            let body = try await request.jsonObject(context: context)
            let object = try MetadefInput.object(body, now: Date().timeIntervalSince1970)
            let rendered = try await db.transaction { db in
                let namespace = try await writableNamespace(context, auth: auth, rule: "add_metadef_object", in: db)
                if try await metadefs.object(namespace: namespace.namespace, name: object.name, in: db) != nil {
                    throw MetadefErrors.duplicate("object", object.name, namespace.namespace)
                }
                try await metadefs.insertObject(object, namespace: namespace.namespace, in: db)
                return object.rendered(namespace: namespace.namespace)
            }
            return Response.json(rendered, status: .created)
        }
        router.get("/v2/metadefs/namespaces/:namespace/objects/:object_name") { _, context in
            let auth = try context.requireAuth()
            let name = metadefParameter(context, "object_name")
            let rendered = try await db.read { db in
                let namespace = try await readableNamespace(context, auth: auth, rule: "get_metadef_object", in: db)
                return try await existingObject(namespace.namespace, name, in: db).rendered(namespace: namespace.namespace)
            }
            return Response.json(rendered)
        }
        router.put("/v2/metadefs/namespaces/:namespace/objects/:object_name") { request, context in
            let auth = try context.requireAuth()
            let name = metadefParameter(context, "object_name")
            let body = try await request.jsonObject(context: context)
            let input = try MetadefInput.object(body, now: Date().timeIntervalSince1970)
            let rendered = try await db.transaction { db in
                let namespace = try await writableNamespace(context, auth: auth, rule: "modify_metadef_object", in: db)
                let current = try await existingObject(namespace.namespace, name, in: db)
                if input.name != current.name, try await metadefs.object(namespace: namespace.namespace, name: input.name, in: db) != nil {
                    throw MetadefErrors.duplicate("object", input.name, namespace.namespace)
                }
                var updated = input
                updated.createdAt = current.createdAt
                try await metadefs.updateObject(updated, oldName: current.name, namespace: namespace.namespace, in: db)
                return updated.rendered(namespace: namespace.namespace)
            }
            return Response.json(rendered)
        }
        router.delete("/v2/metadefs/namespaces/:namespace/objects/:object_name") { _, context in
            let auth = try context.requireAuth()
            let name = metadefParameter(context, "object_name")
            try await db.transaction { db in
                let namespace = try await writableNamespace(context, auth: auth, rule: "delete_metadef_object", in: db)
                let object = try await existingObject(namespace.namespace, name, in: db)
                try await metadefs.deleteItem(from: "metadef_objects", namespace: namespace.namespace, name: object.name, in: db)
            }
            return Response.noContent()
        }
    }

    private func existingObject(_ namespace: String, _ name: String, in db: any SQLDatabase) async throws -> MetadefObject {
        guard let object = try await metadefs.object(namespace: namespace, name: name, in: db) else {
            throw APIError.notFound("The metadata definition object with name=\(name) was not found in namespace=\(namespace).")
        }
        return object
    }

    // MARK: Properties

    func registerMetadefProperties(on router: Router<StratusContext>) {
        router.get("/v2/metadefs/namespaces/:namespace/properties") { _, context in
            let auth = try context.requireAuth()
            let properties = try await db.read { db in
                let namespace = try await readableNamespace(context, auth: auth, rule: "get_metadef_properties", in: db)
                return try await metadefs.properties(namespace: namespace.namespace, in: db)
            }
            let byName = Dictionary(properties.map { ($0.name, JSON.object($0.schema)) }, uniquingKeysWith: { first, _ in first })
            return Response.json(["properties": .object(byName)])
        }
        router.post("/v2/metadefs/namespaces/:namespace/properties") { request, context in
            let auth = try context.requireAuth()
            let body = try await request.jsonObject(context: context)
            let property = try MetadefInput.property(body, now: Date().timeIntervalSince1970)
            try await db.transaction { db in
                let namespace = try await writableNamespace(context, auth: auth, rule: "add_metadef_property", in: db)
                if try await metadefs.property(namespace: namespace.namespace, name: property.name, in: db) != nil {
                    throw MetadefErrors.duplicate("property", property.name, namespace.namespace)
                }
                try await metadefs.insertProperty(property, namespace: namespace.namespace, in: db)
            }
            return Response.json(property.rendered(), status: .created)
        }
        router.get("/v2/metadefs/namespaces/:namespace/properties/:property_name") { request, context in
            let auth = try context.requireAuth()
            let name = metadefParameter(context, "property_name")
            let resourceType = request.query("resource_type")
            let rendered = try await db.read { db in
                let namespace = try await readableNamespace(context, auth: auth, rule: "get_metadef_property", in: db)
                var stored = name
                // With a resource type, the name carries that association's prefix.
                if let resourceType,
                    let prefix = try await metadefs.association(namespace: namespace.namespace, name: resourceType, in: db)?.prefix,
                    !prefix.isEmpty
                {
                    guard name.hasPrefix(prefix) else { throw MetadefErrors.propertyNotFound(name, namespace.namespace) }
                    stored = String(name.dropFirst(prefix.count))
                }
                var property = try await existingProperty(namespace.namespace, stored, in: db)
                property.name = name
                return property.rendered()
            }
            return Response.json(rendered)
        }
        router.put("/v2/metadefs/namespaces/:namespace/properties/:property_name") { request, context in
            let auth = try context.requireAuth()
            let name = metadefParameter(context, "property_name")
            let body = try await request.jsonObject(context: context)
            let input = try MetadefInput.property(body, now: Date().timeIntervalSince1970)
            try await db.transaction { db in
                let namespace = try await writableNamespace(context, auth: auth, rule: "modify_metadef_property", in: db)
                let current = try await existingProperty(namespace.namespace, name, in: db)
                if input.name != current.name, try await metadefs.property(namespace: namespace.namespace, name: input.name, in: db) != nil {
                    throw MetadefErrors.duplicate("property", input.name, namespace.namespace)
                }
                try await metadefs.updateProperty(input, oldName: current.name, namespace: namespace.namespace, in: db)
            }
            return Response.json(input.rendered())
        }
        router.delete("/v2/metadefs/namespaces/:namespace/properties/:property_name") { _, context in
            let auth = try context.requireAuth()
            let name = metadefParameter(context, "property_name")
            try await db.transaction { db in
                let namespace = try await writableNamespace(context, auth: auth, rule: "remove_metadef_property", in: db)
                let property = try await existingProperty(namespace.namespace, name, in: db)
                try await metadefs.deleteItem(from: "metadef_properties", namespace: namespace.namespace, name: property.name, in: db)
            }
            return Response.noContent()
        }
    }

    private func existingProperty(_ namespace: String, _ name: String, in db: any SQLDatabase) async throws -> MetadefProperty {
        guard let property = try await metadefs.property(namespace: namespace, name: name, in: db) else {
            throw MetadefErrors.propertyNotFound(name, namespace)
        }
        return property
    }

    // MARK: Tags

    func registerMetadefTags(on router: Router<StratusContext>) {
        router.get("/v2/metadefs/namespaces/:namespace/tags") { _, context in
            let auth = try context.requireAuth()
            let tags = try await db.read { db in
                let namespace = try await readableNamespace(context, auth: auth, rule: "get_metadef_tags", in: db)
                return try await metadefs.tags(namespace: namespace.namespace, in: db)
            }
            return Response.json(["tags": .array(tags.map { $0.rendered() })])
        }
        // Creates several tags, replacing the existing ones unless X-Openstack-Append is true.
        router.post("/v2/metadefs/namespaces/:namespace/tags") { request, context in
            let auth = try context.requireAuth()
            let body = try await request.jsonObject(context: context)
            try MetadefInput.checkKeys(body, allowed: ["tags"], schema: "tags")
            guard let list = body["tags"] else { throw MetadefInput.mismatch("tags", "'tags' is a required property") }
            let names = try MetadefInput.tagNames(list)
            try MetadefInput.checkUnique(names, what: "tag")
            let append = HTTPField.Name("X-Openstack-Append").map { MetadefInput.isTrue(request.headers[$0]) } ?? false
            let now = Date().timeIntervalSince1970
            let tags = names.map { MetadefTag(name: $0, createdAt: now, updatedAt: now) }
            try await db.transaction { db in
                let namespace = try await writableNamespace(context, auth: auth, rule: "add_metadef_tags", in: db)
                if append {
                    for tag in tags {
                        if try await metadefs.tag(namespace: namespace.namespace, name: tag.name, in: db) != nil {
                            throw MetadefErrors.duplicateTag(tag.name, namespace.namespace)
                        }
                    }
                } else {
                    try await metadefs.deleteAll(from: "metadef_tags", namespace: namespace.namespace, in: db)
                }
                for tag in tags { try await metadefs.insertTag(tag, namespace: namespace.namespace, in: db) }
            }
            return Response.json(["tags": .array(tags.map { $0.rendered() })], status: .created)
        }
        router.post("/v2/metadefs/namespaces/:namespace/tags/:tag_name") { _, context in
            let auth = try context.requireAuth()
            let name = metadefParameter(context, "tag_name")
            guard !name.isEmpty, name.count <= 255 else { throw MetadefInput.mismatch("tag", "'\(name)' is too long") }
            let now = Date().timeIntervalSince1970
            let tag = MetadefTag(name: name, createdAt: now, updatedAt: now)
            try await db.transaction { db in
                let namespace = try await writableNamespace(context, auth: auth, rule: "add_metadef_tag", in: db)
                if try await metadefs.tag(namespace: namespace.namespace, name: name, in: db) != nil {
                    throw MetadefErrors.duplicateTag(name, namespace.namespace)
                }
                try await metadefs.insertTag(tag, namespace: namespace.namespace, in: db)
            }
            return Response.json(tag.rendered(), status: .created)
        }
        router.get("/v2/metadefs/namespaces/:namespace/tags/:tag_name") { _, context in
            let auth = try context.requireAuth()
            let name = metadefParameter(context, "tag_name")
            let tag = try await db.read { db in
                let namespace = try await readableNamespace(context, auth: auth, rule: "get_metadef_tag", in: db)
                return try await existingTag(namespace.namespace, name, in: db)
            }
            return Response.json(tag.rendered())
        }
        router.put("/v2/metadefs/namespaces/:namespace/tags/:tag_name") { request, context in
            let auth = try context.requireAuth()
            let name = metadefParameter(context, "tag_name")
            let body = try await request.jsonObject(context: context)
            let newName = try MetadefInput.tagName(body)
            let tag = try await db.transaction { db in
                let namespace = try await writableNamespace(context, auth: auth, rule: "modify_metadef_tag", in: db)
                var tag = try await existingTag(namespace.namespace, name, in: db)
                if newName != tag.name, try await metadefs.tag(namespace: namespace.namespace, name: newName, in: db) != nil {
                    throw MetadefErrors.duplicateTag(newName, namespace.namespace)
                }
                let oldName = tag.name
                tag.name = newName
                tag.updatedAt = Date().timeIntervalSince1970
                try await metadefs.renameTag(oldName, to: tag, namespace: namespace.namespace, in: db)
                return tag
            }
            return Response.json(tag.rendered())
        }
        router.delete("/v2/metadefs/namespaces/:namespace/tags/:tag_name") { _, context in
            let auth = try context.requireAuth()
            let name = metadefParameter(context, "tag_name")
            try await db.transaction { db in
                let namespace = try await writableNamespace(context, auth: auth, rule: "delete_metadef_tag", in: db)
                let tag = try await existingTag(namespace.namespace, name, in: db)
                try await metadefs.deleteItem(from: "metadef_tags", namespace: namespace.namespace, name: tag.name, in: db)
            }
            return Response.noContent()
        }
    }

    private func existingTag(_ namespace: String, _ name: String, in db: any SQLDatabase) async throws -> MetadefTag {
        guard let tag = try await metadefs.tag(namespace: namespace, name: name, in: db) else {
            throw APIError.notFound("The metadata definition tag with name=\(name) was not found in namespace=\(namespace).")
        }
        return tag
    }
}
