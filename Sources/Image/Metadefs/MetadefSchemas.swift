import StratusCore

/// Schemas of the metadata definitions catalog (`/v2/schemas/metadefs/...`).
enum MetadefSchemas {
    /// URL path under `metadefs/` to the schema's name.
    static let names: [(String, String)] = [
        ("namespace", "namespace"), ("namespaces", "namespaces"),
        ("resource_type", "resource_type_association"), ("resource_types", "resource_type_associations"),
        ("object", "object"), ("objects", "objects"), ("property", "property"), ("properties", "properties"),
        ("tag", "tag"), ("tags", "tags"),
    ]

    static let timestamps: [String: JSON] = [
        "created_at": ["type": "string", "readOnly": true, "description": "Date and time of creation", "format": "date-time"],
        "updated_at": ["type": "string", "readOnly": true, "description": "Date and time of the last modification", "format": "date-time"],
    ]

    static let itemProperties: [String: [String: JSON]] = [
        "namespace": [
            "namespace": ["type": "string", "maxLength": 80, "description": "The unique namespace text."],
            "display_name": ["type": "string", "maxLength": 80, "description": "The user friendly name for the namespace."],
            "description": ["type": "string", "maxLength": 500, "description": "Provides a user friendly description of the namespace."],
            "visibility": ["type": "string", "enum": ["public", "private"], "description": "Scope of namespace accessibility."],
            "protected": ["type": "boolean", "description": "If true, namespace will not be deletable."],
            "owner": ["type": "string", "maxLength": 255, "description": "Owner of the namespace."],
            "resource_type_associations": ["type": "array", "items": ["type": "object"]],
            "properties": ["type": "object"], "objects": ["type": "array"], "tags": ["type": "array"],
            "schema": ["type": "string", "readOnly": true], "self": ["type": "string", "readOnly": true],
        ],
        "resource_type_association": [
            "name": ["type": "string", "maxLength": 80, "description": "Resource type names should be aligned with Heat resource types whenever possible."],
            "prefix": ["type": "string", "maxLength": 80, "description": "Specifies the prefix to use for the given resource type."],
            "properties_target": ["type": "string", "maxLength": 80, "description": "Some resource types allow more than one key / value pair per instance."],
        ],
        "object": [
            "name": ["type": "string", "maxLength": 80],
            "description": ["type": "string"],
            "required": ["type": "array", "items": ["type": "string"]],
            "properties": ["type": "object"],
            "schema": ["type": "string", "readOnly": true], "self": ["type": "string", "readOnly": true],
        ],
        "property": [
            "name": ["type": "string", "maxLength": 80],
            "title": ["type": "string"],
            "description": ["type": "string"],
            "type": ["type": "string", "enum": ["array", "boolean", "integer", "number", "object", "string", "null"]],
            "enum": ["type": "array"], "default": [:], "readonly": ["type": "boolean"],
            "minimum": ["type": "number"], "maximum": ["type": "number"], "maxLength": ["type": "integer"], "minLength": ["type": "integer"],
            "pattern": ["type": "string", "format": "regex"], "items": ["type": "object"], "operators": ["type": "array"],
        ],
        "tag": [
            "name": ["type": "string", "maxLength": 255],
        ],
    ]

    static func schema(_ name: String) -> JSON {
        let singular: [String: String] = [
            "namespaces": "namespace", "resource_type_associations": "resource_type_association", "objects": "object",
            "properties": "property", "tags": "tag",
        ]
        if let item = singular[name] {
            let itemSchema = schema(item)
            var properties: [String: JSON] = [name: ["type": "array", "items": itemSchema]]
            properties["schema"] = ["type": "string"]
            if name != "properties" && name != "resource_type_associations" {
                properties["first"] = ["type": "string"]
                properties["next"] = ["type": "string"]
            }
            return ["name": .string(name), "properties": .object(properties),
                    "links": [["rel": "first", "href": "{first}"], ["rel": "next", "href": "{next}"], ["rel": "describedby", "href": "{schema}"]]]
        }
        var properties = itemProperties[name] ?? [:]
        properties.merge(timestamps) { own, _ in own }
        let required: JSON = name == "namespace" ? ["namespace"] : name == "property" ? ["name", "title", "type"] : ["name"]
        return ["name": .string(name), "properties": .object(properties), "required": required, "additionalProperties": false]
    }
}
