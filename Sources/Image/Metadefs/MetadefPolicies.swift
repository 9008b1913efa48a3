/// Default rules of the metadata definitions catalog, after Glance's: only admins change the
/// catalog; readers read public namespaces and their own project's.
/// Targets carry `project_id` (the namespace owner) and `visibility`.
enum MetadefPolicies {
    static let admin = "rule:context_is_admin"
    static let reader = "rule:context_is_admin or (role:reader and (project_id:%(project_id)s or 'public':%(visibility)s))"

    static let readRules = [
        "get_metadef_namespace", "get_metadef_namespaces", "get_metadef_object", "get_metadef_objects",
        "get_metadef_property", "get_metadef_properties", "get_metadef_tag", "get_metadef_tags",
        "get_metadef_resource_type", "list_metadef_resource_types",
    ]
    static let writeRules = [
        "add_metadef_namespace", "modify_metadef_namespace", "delete_metadef_namespace",
        "add_metadef_object", "modify_metadef_object", "delete_metadef_object",
        "add_metadef_property", "modify_metadef_property", "remove_metadef_property",
        "add_metadef_tag", "add_metadef_tags", "modify_metadef_tag", "delete_metadef_tag", "delete_metadef_tags",
        "add_metadef_resource_type_association", "remove_metadef_resource_type_association",
    ]

    static let defaults: [String: String] = {
        var rules: [String: String] = [:]
        for name in readRules { rules[name] = reader }
        for name in writeRules { rules[name] = admin }
        return rules
    }()
}
