/// Default policy rules, after Glance's current defaults: project members manage their
/// project's images, readers read them, admins do anything, and only admins publicize
/// images or copy them between stores.
enum ImagePolicies {
    static let adminOrMember = "rule:context_is_admin or (role:member and project_id:%(project_id)s)"
    static let adminOrReader = "rule:context_is_admin or (role:reader and project_id:%(project_id)s)"
    static let visibleImage = "(project_id:%(project_id)s or project_id:%(member_id)s or 'community':%(visibility)s or 'public':%(visibility)s or 'shared':%(visibility)s)"
    static let adminOrOwnerOrMember = "rule:context_is_admin or (role:reader and (project_id:%(project_id)s or project_id:%(member_id)s))"

    static let defaults: [String: String] = [
        "context_is_admin": "role:admin",
        "default": "rule:context_is_admin",
        "add_image": adminOrMember,
        "get_image": "rule:context_is_admin or (role:reader and \(visibleImage))",
        "get_images": adminOrReader,
        "modify_image": adminOrMember,
        "delete_image": adminOrMember,
        "publicize_image": "rule:context_is_admin",
        "communitize_image": adminOrMember,
        "upload_image": adminOrMember,
        "download_image": "rule:context_is_admin or (role:member and \(visibleImage))",
        "deactivate": adminOrMember,
        "reactivate": adminOrMember,
        "copy_image": "role:admin",
        "add_member": adminOrMember,
        "delete_member": adminOrMember,
        "get_member": adminOrOwnerOrMember,
        "get_members": adminOrOwnerOrMember,
        "modify_member": "rule:context_is_admin or (role:member and project_id:%(member_id)s)",
        "get_task": "rule:context_is_admin",
        "get_tasks": "rule:context_is_admin",
        "add_task": "rule:context_is_admin",
        "modify_task": "rule:context_is_admin",
        "tasks_api_access": "role:admin",
        "delete_image_location": "rule:context_is_admin",
        "get_image_location": "rule:context_is_admin or (role:reader and project_id:%(project_id)s)",
        "manage_image_cache": "rule:context_is_admin",
        "stores_info_detail": "rule:context_is_admin",
    ]
}
