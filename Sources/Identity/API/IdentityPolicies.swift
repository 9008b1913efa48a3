/// Default policy rules, after Keystone's: `admin` on any scope administers, `reader` on the
/// system scope reads everything, `reader` on a domain reads that domain's resources, and
/// owners see their own user, projects, credentials and application credentials.
enum IdentityPolicies {
    static let adminOrSystemReader = "rule:admin_required or rule:system_reader"
    static let adminOrReaders = "rule:admin_required or rule:system_reader or rule:domain_reader"
    static let admin = "rule:admin_required"

    static let defaults: [String: String] = {
        var rules: [String: String] = [
            "admin_required": "role:admin or is_admin:1",
            "service_role": "role:service",
            "service_or_admin": "rule:admin_required or rule:service_role",
            "system_reader": "role:reader and system_scope:all",
            "domain_reader": "role:reader and domain_id:%(target.domain_id)s",
            "owner": "user_id:%(target.user.id)s",
            "token_subject": "user_id:%(target.token.user_id)s",

            "identity:validate_token": "rule:service_or_admin or rule:system_reader or rule:token_subject",
            "identity:check_token": "rule:service_or_admin or rule:system_reader or rule:token_subject",
            "identity:revoke_token": "rule:service_or_admin or rule:token_subject",

            "identity:get_domain": "rule:admin_required or rule:system_reader or domain_id:%(target.domain.id)s or project_domain_id:%(target.domain.id)s",
            "identity:list_domains": adminOrSystemReader,
            "identity:get_project": "rule:admin_required or rule:system_reader or rule:domain_reader or project_id:%(target.project.id)s",
            "identity:list_projects": adminOrReaders,
            "identity:list_user_projects": "rule:admin_required or rule:system_reader or rule:domain_reader or rule:owner",
            "identity:get_user": "rule:admin_required or rule:system_reader or rule:domain_reader or rule:owner",
            "identity:list_users": adminOrReaders,
            "identity:get_group": adminOrReaders,
            "identity:list_groups": adminOrReaders,
            "identity:list_groups_for_user": "rule:admin_required or rule:system_reader or rule:domain_reader or rule:owner",
            "identity:list_users_in_group": adminOrReaders,
            "identity:check_user_in_group": adminOrReaders,
            "identity:add_user_to_group": admin,
            "identity:remove_user_from_group": admin,
            "identity:get_role": adminOrReaders,
            "identity:list_roles": adminOrReaders,
            "identity:get_domain_role": adminOrReaders,
            "identity:list_domain_roles": adminOrReaders,
            "identity:get_implied_role": adminOrSystemReader,
            "identity:list_implied_roles": adminOrSystemReader,
            "identity:list_role_inference_rules": adminOrSystemReader,
            "identity:check_implied_role": adminOrSystemReader,
            "identity:create_implied_role": admin,
            "identity:delete_implied_role": admin,
            "identity:check_grant": adminOrReaders,
            "identity:list_grants": adminOrReaders,
            "identity:create_grant": admin,
            "identity:revoke_grant": admin,
            "identity:list_role_assignments": adminOrReaders,
            "identity:list_role_assignments_for_tree": adminOrReaders,
            "identity:get_region": "",
            "identity:list_regions": "",
            "identity:get_service": adminOrSystemReader,
            "identity:list_services": adminOrSystemReader,
            "identity:get_endpoint": adminOrSystemReader,
            "identity:list_endpoints": adminOrSystemReader,
            "identity:get_credential": "rule:admin_required or rule:system_reader or user_id:%(target.credential.user_id)s",
            "identity:list_credentials": "rule:admin_required or rule:system_reader or user_id:%(target.credential.user_id)s",
            "identity:create_credential": "rule:admin_required or user_id:%(target.credential.user_id)s",
            "identity:update_credential": "rule:admin_required or user_id:%(target.credential.user_id)s",
            "identity:delete_credential": "rule:admin_required or user_id:%(target.credential.user_id)s",
            "identity:get_application_credential": "rule:admin_required or rule:system_reader or rule:owner",
            "identity:list_application_credentials": "rule:admin_required or rule:system_reader or rule:owner",
            "identity:create_application_credential": "rule:owner",
            "identity:delete_application_credential": "rule:admin_required or rule:owner",
            "identity:get_access_rule": "rule:admin_required or rule:system_reader or rule:owner",
            "identity:list_access_rules": "rule:admin_required or rule:system_reader or rule:owner",
            "identity:delete_access_rule": "rule:admin_required or rule:owner",
            "identity:get_policy": adminOrSystemReader,
            "identity:list_policies": adminOrSystemReader,
            "identity:get_registered_limit": "",
            "identity:list_registered_limits": "",
            "identity:get_limit": "rule:admin_required or rule:system_reader or project_id:%(target.limit.project_id)s",
            "identity:list_limits": "",
            "identity:get_limit_model": "",
            "identity:get_project_tag": "rule:admin_required or rule:system_reader or rule:domain_reader or project_id:%(target.project.id)s",
            "identity:list_project_tags": "rule:admin_required or rule:system_reader or rule:domain_reader or project_id:%(target.project.id)s",
            "identity:create_project_tag": admin,
            "identity:update_project_tags": admin,
            "identity:delete_project_tag": admin,
            "identity:delete_project_tags": admin,
            "identity:get_consumer": adminOrSystemReader,
            "identity:list_consumers": adminOrSystemReader,
            "identity:get_endpoint_group": adminOrSystemReader,
            "identity:list_endpoint_groups": adminOrSystemReader,
            "identity:get_domain_config_default": adminOrSystemReader,
            "identity:get_domain_config": adminOrSystemReader,
            "identity:create_domain_config": admin,
            "identity:update_domain_config": admin,
            "identity:delete_domain_config": admin,
            "identity:ec2_credential": "rule:admin_required or rule:owner",
            "identity:list_trusts": admin,
            "identity:get_trust": "rule:admin_required or user_id:%(target.trust.trustor_user_id)s or user_id:%(target.trust.trustee_user_id)s",
            "identity:delete_trust": "rule:admin_required or user_id:%(target.trust.trustor_user_id)s",
            "identity:get_auth_catalog": "",
            "identity:get_auth_projects": "",
            "identity:get_auth_domains": "",
            "identity:get_auth_system": "",
        ]
        for kind in ["domain", "project", "user", "group", "role", "domain_role", "region", "service", "endpoint", "policy",
            "registered_limit", "limit", "consumer", "endpoint_group"]
        {
            for action in ["create", "update", "delete"] where rules["identity:\(action)_\(kind)"] == nil {
                rules["identity:\(action)_\(kind)"] = admin
            }
        }
        return rules
    }()
}
