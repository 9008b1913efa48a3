/// Default policy rules after Neutron's: project members manage their own resources,
/// anyone sees shared and external networks, admins do anything, and provider, binding
/// and placement attributes are for admins.
enum NetworkPolicies {
    static let base: [String: String] = [
        "context_is_admin": "role:admin",
        "admin_only": "rule:context_is_admin",
        "owner": "project_id:%(project_id)s",
        "admin_or_owner": "rule:context_is_admin or rule:owner",
        "admin_or_network_owner": "rule:context_is_admin or project_id:%(network:tenant_id)s",
        "shared": "'True':%(shared)s",
        "external": "'True':%(router:external)s",
        "regular_user": "",
        "default": "rule:admin_or_owner",
    ]

    /// Rules that differ from the generic `rule:admin_or_owner`.
    static let specific: [String: String] = [
        "get_network": "rule:admin_or_owner or rule:shared or rule:external or rule:rbac_shared",
        "rbac_shared": "'True':%(rbac_shared)s",
        "get_subnet": "rule:admin_or_owner or rule:shared or rule:rbac_shared",
        "create_subnet": "rule:admin_or_network_owner",
        "update_subnet": "rule:admin_or_network_owner",
        "delete_subnet": "rule:admin_or_network_owner",
        "get_port": "rule:admin_or_owner or rule:admin_or_network_owner",
        "update_port": "rule:admin_or_owner or rule:admin_or_network_owner",
        "delete_port": "rule:admin_or_owner or rule:admin_or_network_owner",
        "get_subnetpool": "rule:admin_or_owner or 'True':%(shared)s or 'True':%(is_default)s",
        "get_address_scope": "rule:admin_or_owner or 'True':%(shared)s",
        "get_security_group": "rule:admin_or_owner",
        "get_agent": "rule:admin_only",
        "update_agent": "rule:admin_only",
        "delete_agent": "rule:admin_only",
        "create_agent": "!",
        "get_segment": "rule:admin_only",
        "create_segment": "rule:admin_only",
        "update_segment": "rule:admin_only",
        "delete_segment": "rule:admin_only",
        "get_policy": "rule:admin_or_owner or 'True':%(shared)s or rule:rbac_shared",
        // nested items: reaching them requires seeing (or owning) their parent
        "get_bandwidth_limit_rule": "",
        "get_dscp_marking_rule": "",
        "get_minimum_bandwidth_rule": "",
        "get_port_forwarding": "",
        "create_port_forwarding": "",
        "update_port_forwarding": "",
        "delete_port_forwarding": "",
        "update_metering_label": "rule:admin_only",
        "update_metering_label_rule": "rule:admin_only",
        "create_metering_label": "rule:admin_only",
        "delete_metering_label": "rule:admin_only",
        "get_metering_label": "rule:admin_only",
        "create_metering_label_rule": "rule:admin_only",
        "delete_metering_label_rule": "rule:admin_only",
        "get_metering_label_rule": "rule:admin_only",
        "get_network_ip_availability": "rule:admin_only",
        "get_quota": "rule:admin_or_owner",
        "update_quota": "rule:admin_only",
        "delete_quota": "rule:admin_only",
        "get_rbac_policy": "rule:admin_or_owner",
        "get_dhcp-networks": "rule:admin_only",
        "create_dhcp-network": "rule:admin_only",
        "delete_dhcp-network": "rule:admin_only",
        "get_dhcp-agents": "rule:admin_only",
        "get_l3-routers": "rule:admin_only",
        "get_l3-agents": "rule:admin_only",
        "get_availability_zone": "",
        "get_service_provider": "",
        "add_router_interface": "rule:admin_or_owner",
        "remove_router_interface": "rule:admin_or_owner",
    ]

    /// Base rules, CRUD rules for each kind, and one rule per guarded attribute.
    static func defaults(for kinds: [ResourceKind]) -> [String: String] {
        var rules = base
        for kind in kinds {
            for action in ["create", "get", "update", "delete"] { rules["\(action)_\(kind.member)"] = "rule:admin_or_owner" }
            for attribute in kind.attributes {
                if let read = attribute.readRule { rules["get_\(kind.member):\(attribute.name)"] = read }
                if let write = attribute.writeRule {
                    rules["create_\(kind.member):\(attribute.name)"] = write
                    rules["update_\(kind.member):\(attribute.name)"] = write
                }
            }
        }
        return rules.merging(specific) { _, specific in specific }
    }
}
