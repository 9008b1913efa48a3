/// Cinder's default policies: project members act on their project's volumes, readers
/// read them; types, services, quotas and admin actions belong to admins.
enum BlockStoragePolicies {
    static let defaults: [String: String] = {
        var rules: [String: String] = [
            "context_is_admin": "role:admin",
            "admin_api": "role:admin",
            "project_member": "role:member and project_id:%(project_id)s",
            "project_reader": "role:reader and project_id:%(project_id)s",
            "admin_or_member": "rule:admin_api or rule:project_member",
            "admin_or_reader": "rule:admin_api or rule:project_reader",
            "service_api": "role:service",
        ]
        let readers = [
            "volume:get", "volume:get_all", "volume:get_volume_metadata", "volume:get_snapshot",
            "volume:get_all_snapshots",
            "volume:get_snapshot_metadata", "volume:attachment_get", "volume:attachment_get_all",
            "volume_extension:type_get", "volume_extension:type_get_all", "message:get_all", "message:get",
            "volume_extension:quotas:show", "backup:get_all", "backup:get", "volume:get_all_transfers",
            "volume:get_transfer", "group:get_all", "group:get", "group:get_all_group_snapshots",
            "group:get_group_snapshot", "group:group_types:get_all", "group:group_types:get",
            "volume_extension:volume_encryption_metadata",
        ]
        let members = [
            "volume:create", "volume:update", "volume:delete", "volume:extend", "volume:update_volume_metadata",
            "volume:create_snapshot", "volume:update_snapshot", "volume:delete_snapshot",
            "volume:update_snapshot_metadata",
            "volume:attachment_create", "volume:attachment_update", "volume:attachment_complete",
            "volume:attachment_delete", "volume:update_readonly_flag", "volume:revert_to_snapshot", "volume:retype",
            "volume_extension:volume_actions:upload_image",
            "message:delete", "volume:create_transfer", "backup:create", "backup:update",
            "backup:delete", "backup:restore", "group:create", "group:update", "group:delete",
            "group:create_group_snapshot", "group:delete_group_snapshot", "volume:delete_transfer",
        ]
        let admins = [
            "volume_extension:types_manage", "volume_extension:types_extra_specs:create",
            "volume_extension:types_extra_specs:update", "volume_extension:types_extra_specs:delete",
            "volume_extension:volume_type_access", "volume_extension:volume_type_access:addProjectAccess",
            "volume_extension:volume_type_access:removeProjectAccess", "volume_extension:services:index",
            "volume_extension:services:update", "volume_extension:hosts", "volume_extension:capabilities",
            "scheduler_extension:scheduler_stats:get_pools", "volume_extension:quotas:update",
            "volume_extension:quotas:delete", "volume_extension:volume_admin_actions:reset_status",
            "volume_extension:volume_admin_actions:force_delete",
            "volume_extension:snapshot_admin_actions:reset_status",
            "volume_extension:snapshot_admin_actions:force_delete",
            "volume_extension:volume_admin_actions:force_detach",
            "volume_extension:qos_specs_manage", "volume_extension:volume_admin_actions:migrate_volume",
            "volume_extension:volume_admin_actions:migrate_volume_completion",
            "group:group_types:manage", "group:group_types_specs", "group:reset_status",
            "group:reset_group_snapshot_status",
            "volume_extension:volume_type_encryption:get", "volume_extension:volume_type_encryption:create",
            "volume_extension:volume_type_encryption:update", "volume_extension:volume_type_encryption:delete",
            "volume_extension:quota_classes", "backup:export", "backup:import",
            "volume_extension:backup_admin_actions:reset_status", "volume_extension:backup_admin_actions:force_delete",
            "volume_extension:volume_manage", "volume_extension:volume_unmanage", "volume_extension:list_manageable",
            "snapshot_extension:snapshot_manage", "snapshot_extension:snapshot_unmanage",
            "snapshot_extension:list_manageable",
        ]
        for rule in readers { rules[rule] = "rule:admin_or_reader" }
        for rule in members { rules[rule] = "rule:admin_or_member" }
        for rule in admins { rules[rule] = "rule:admin_api" }
        rules["volume_extension:types_extra_specs:index"] = "rule:admin_or_reader"
        rules["volume_extension:types_extra_specs:show"] = "rule:admin_or_reader"
        // Whoever holds the auth key may accept, from any project.
        rules["volume:accept_transfer"] = ""
        rules["snapshot_extension:snapshot_actions:update_snapshot_status"] = "rule:admin_or_member"
        rules["volume:extend_volume_completion"] = "rule:service_api"
        return rules
    }()
}
