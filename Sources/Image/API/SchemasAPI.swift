import Hummingbird
import StratusCore

/// The JSON schemas Glance publishes under `/v2/schemas`; clients read them to validate
/// input and to build PATCH documents.
enum ImageSchemas {
    static func image() -> JSON {
        func string(_ description: String, maxLength: Int? = nil, readOnly: Bool = false, nullable: Bool = false) -> JSON {
            var out: [String: JSON] = ["description": .string(description), "type": nullable ? ["null", "string"] : "string"]
            if let maxLength { out["maxLength"] = .int(maxLength) }
            if readOnly { out["readOnly"] = true }
            return .object(out)
        }
        func integer(_ description: String, readOnly: Bool = false, nullable: Bool = false) -> JSON {
            var out: [String: JSON] = ["description": .string(description), "type": nullable ? ["null", "integer"] : "integer"]
            if readOnly { out["readOnly"] = true } else { out["minimum"] = 0 }
            return .object(out)
        }
        func enumeration(_ description: String, _ values: [String], nullable: Bool) -> JSON {
            ["description": .string(description), "type": nullable ? ["null", "string"] : "string",
             "enum": .array((nullable ? [JSON.null] : []) + values.map { .string($0) })]
        }
        let properties: [String: JSON] = [
            "id": ["description": "An identifier for the image", "type": "string",
                   "pattern": "^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$"],
            "name": string("Descriptive name for the image", maxLength: 255, nullable: true),
            "status": ["description": "Status of the image", "type": "string", "readOnly": true,
                       "enum": JSON(ImageStatus.allCases.map(\.rawValue))],
            "visibility": ["description": "Scope of image accessibility", "type": "string", "enum": JSON(Visibility.allCases.map(\.rawValue))],
            "protected": ["description": "If true, image will not be deletable.", "type": "boolean"],
            "os_hidden": ["description": "If true, image will not appear in default image list response.", "type": "boolean"],
            "checksum": string("md5 hash of image contents.", maxLength: 32, readOnly: true, nullable: true),
            "os_hash_algo": string("Algorithm to calculate the os_hash_value", maxLength: 64, readOnly: true, nullable: true),
            "os_hash_value": string("Hexdigest of the image contents using the algorithm specified by the os_hash_algo", maxLength: 128, readOnly: true, nullable: true),
            "owner": string("Owner of the image", maxLength: 255, nullable: true),
            "size": integer("Size of image file in bytes", readOnly: true, nullable: true),
            "virtual_size": integer("Virtual size of image in bytes", readOnly: true, nullable: true),
            "container_format": enumeration("Format of the container", ImageAttributes.containerFormats, nullable: true),
            "disk_format": enumeration("Format of the disk", ImageAttributes.diskFormats, nullable: true),
            "created_at": ["description": "Date and time of image registration", "type": "string", "readOnly": true],
            "updated_at": ["description": "Date and time of the last image modification", "type": "string", "readOnly": true],
            "tags": ["description": "List of strings related to the image", "type": "array", "items": ["type": "string", "maxLength": 255]],
            "direct_url": string("URL to access the image file kept in external store", readOnly: true),
            "min_ram": integer("Amount of ram (in MB) required to boot image."),
            "min_disk": integer("Amount of disk space (in GB) required to boot image."),
            "self": string("An image self url", readOnly: true),
            "file": string("An image file url", readOnly: true),
            "stores": string("Store in which image data resides.  Only present when the operator has enabled multiple stores.", readOnly: true),
            "schema": string("An image schema url", readOnly: true),
            "locations": ["description": "A set of URLs to access the image file kept in external store", "type": "array",
                          "items": ["type": "object", "required": ["url", "metadata"],
                                    "properties": ["url": ["type": "string", "maxLength": 255], "metadata": ["type": "object"]]]],
            "kernel_id": ["description": "ID of image stored in Glance that should be used as the kernel when booting an AMI-style image.",
                          "type": ["null", "string"], "is_base": false],
            "ramdisk_id": ["description": "ID of image stored in Glance that should be used as the ramdisk when booting an AMI-style image.",
                           "type": ["null", "string"], "is_base": false],
            "os_distro": ["description": "Common name of operating system distribution as specified in https://docs.openstack.org/python-glanceclient/latest/cli/property-keys.html",
                          "type": "string", "is_base": false],
            "os_version": ["description": "Operating system version as specified by the distributor.", "type": "string", "is_base": false],
            "architecture": ["description": "Operating system architecture as specified in https://docs.openstack.org/python-glanceclient/latest/cli/property-keys.html",
                             "type": "string", "is_base": false],
            "instance_uuid": ["description": "Metadata which can be used to record which instance this image is associated with. (Informational only, does not create an instance snapshot.)",
                              "type": "string", "is_base": false],
        ]
        return [
            "name": "image",
            "properties": .object(properties),
            "additionalProperties": ["type": "string"],
            "links": [
                ["rel": "self", "href": "{self}"], ["rel": "enclosure", "href": "{file}"], ["rel": "describedby", "href": "{schema}"],
            ],
        ]
    }

    static func collection(_ name: String, item: JSON, itemRef: String) -> JSON {
        var properties: [String: JSON] = [name: ["type": "array", "items": item]]
        properties["schema"] = ["type": "string"]
        properties["first"] = ["type": "string"]
        properties["next"] = ["type": "string"]
        return [
            "name": .string(name), "properties": .object(properties),
            "links": [["rel": "first", "href": "{first}"], ["rel": "next", "href": "{next}"], ["rel": "describedby", "href": "{schema}"]],
        ]
    }

    static let member: JSON = [
        "name": "member",
        "properties": [
            "created_at": ["description": "Date and time of image member creation", "type": "string"],
            "image_id": ["description": "An identifier for the image", "type": "string",
                         "pattern": "^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$"],
            "member_id": ["description": "An identifier for the image member (tenantId)", "type": "string"],
            "status": ["description": "The status of this image member", "type": "string", "enum": ["pending", "accepted", "rejected"]],
            "updated_at": ["description": "Date and time of last modification of image member", "type": "string"],
            "schema": ["readOnly": true, "type": "string"],
        ],
    ]

    static let task: JSON = [
        "name": "task",
        "properties": [
            "id": ["description": "An identifier for the task", "type": "string"],
            "type": ["description": "The type of task represented by this content", "type": "string", "enum": ["import", "api_image_import", "location_import"]],
            "status": ["description": "The current status of this task", "type": "string", "enum": ["pending", "processing", "success", "failure"]],
            "input": ["description": "The parameters required by task, JSON blob", "type": ["null", "object"]],
            "result": ["description": "The result of current task, JSON blob", "type": ["null", "object"]],
            "owner": ["description": "An identifier for the owner of this task", "type": "string"],
            "message": ["description": "Human-readable informative message only included when appropriate (usually on failure)", "type": "string"],
            "image_id": ["description": "Image associated with the task", "type": "string", "readOnly": true],
            "request_id": ["description": "Human-readable informative request-id", "type": "string", "readOnly": true],
            "user_id": ["description": "User associated with the task", "type": "string", "readOnly": true],
            "expires_at": ["description": "Datetime when this resource would be subject to removal", "type": ["null", "string"]],
            "created_at": ["description": "Datetime when this resource was created", "type": "string"],
            "updated_at": ["description": "Datetime when this resource was updated", "type": "string"],
            "self": ["type": "string"], "schema": ["type": "string"],
        ],
    ]

    /// Every published schema by its path under `/v2/schemas/`.
    static let all: [String: JSON] = {
        var schemas: [String: JSON] = [
            "image": image(),
            "images": collection("images", item: ["$ref": "#/definitions/image"], itemRef: "image"),
            "member": member,
            "members": collection("members", item: ["$ref": "#/definitions/member"], itemRef: "member"),
            "task": task,
            "tasks": collection("tasks", item: ["$ref": "#/definitions/task"], itemRef: "task"),
        ]
        if case .object(var images) = schemas["images"] ?? .null {
            images["definitions"] = ["image": image()]
            schemas["images"] = .object(images)
        }
        if case .object(var members) = schemas["members"] ?? .null {
            members["definitions"] = ["member": member]
            schemas["members"] = .object(members)
        }
        for (path, name) in MetadefSchemas.names { schemas["metadefs/\(path)"] = MetadefSchemas.schema(name) }
        return schemas
    }()
}

extension ImageAPI {
    func registerSchemas(on router: Router<StratusContext>) {
        router.get("/v2/schemas/:schema") { _, context in
            _ = try context.requireAuth()
            return try schemaResponse(context.parameters.get("schema") ?? "")
        }
        router.get("/v2/schemas/metadefs/:schema") { _, context in
            _ = try context.requireAuth()
            return try schemaResponse("metadefs/" + (context.parameters.get("schema") ?? ""))
        }
    }

    private func schemaResponse(_ path: String) throws -> Response {
        guard let schema = ImageSchemas.all[path] else { throw APIError.notFound("The resource could not be found.") }
        return Response.json(schema)
    }
}
