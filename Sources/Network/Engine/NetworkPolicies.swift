/// Default policy rules after Neutron's (its secure RBAC defaults): project members manage
/// their own resources, project readers only read them, anyone sees shared and external
/// networks, admins do anything, and provider, binding and placement attributes are for admins.
enum NetworkPolicies {
    static let base: [String: String] = [
        "context_is_admin": "role:admin",
        "admin_only": "rule:context_is_admin",
        "owner": "project_id:%(project_id)s",
        "admin_or_owner": "rule:context_is_admin or rule:owner",
        "admin_or_network_owner": "rule:context_is_admin or project_id:%(network:tenant_id)s",
        "project_member": "role:member and project_id:%(project_id)s",
        "project_reader": "role:reader and project_id:%(project_id)s",
        "admin_or_project_member": "rule:context_is_admin or rule:project_member",
        "admin_or_project_reader": "rule:context_is_admin or rule:project_reader",
        "net_owner_member": "role:member and project_id:%(network:tenant_id)s",
        "net_owner_reader": "role:reader and project_id:%(network:tenant_id)s",
        "shared": "'True':%(shared)s",
        "external": "'True':%(router:external)s",
        "regular_user": "",
        "default": "rule:admin_or_project_member",
    ]

    /// Rules that differ from the generic ones (members write, readers read, their project's).
    static let specific: [String: String] = [
        "get_network": "rule:admin_or_project_reader or rule:shared or rule:external or rule:rbac_shared",
        "rbac_shared": "'True':%(rbac_shared)s",
        "get_subnet": "rule:admin_or_project_reader or rule:net_owner_reader or rule:shared or rule:rbac_shared",
        "create_subnet": "rule:admin_only or rule:net_owner_member",
        "update_subnet": "rule:admin_or_project_member or rule:net_owner_member",
        "delete_subnet": "rule:admin_or_project_member or rule:net_owner_member",
        "get_port": "rule:admin_or_project_reader or rule:net_owner_reader",
        "create_port": "rule:admin_or_project_member or rule:net_owner_member or role:service",
        "update_port": "rule:admin_or_project_member or rule:net_owner_member or role:service",
        "delete_port": "rule:admin_or_project_member or rule:net_owner_member or role:service",
        "get_subnetpool": "rule:admin_or_project_reader or 'True':%(shared)s or 'True':%(is_default)s",
        "get_address_scope": "rule:admin_or_project_reader or 'True':%(shared)s",
        "get_security_group": "rule:admin_or_project_reader",
        "get_agent": "rule:admin_only",
        "update_agent": "rule:admin_only",
        "delete_agent": "rule:admin_only",
        "create_agent": "!",
        "get_segment": "rule:admin_only",
        "create_segment": "rule:admin_only",
        "update_segment": "rule:admin_only",
        "delete_segment": "rule:admin_only",
        "get_policy": "rule:admin_or_project_reader or 'True':%(shared)s or rule:rbac_shared",
        // nested items: reaching them requires seeing (or owning) their parent
        "get_bandwidth_limit_rule": "",
        "get_dscp_marking_rule": "",
        "get_minimum_bandwidth_rule": "",
        "get_port_forwarding": "",
        "create_port_forwarding": "rule:context_is_admin or role:member",
        "update_port_forwarding": "rule:context_is_admin or role:member",
        "delete_port_forwarding": "rule:context_is_admin or role:member",
        "update_metering_label": "rule:admin_only",
        "update_metering_label_rule": "rule:admin_only",
        "create_metering_label": "rule:admin_only",
        "delete_metering_label": "rule:admin_only",
        "get_metering_label": "rule:admin_only",
        "create_metering_label_rule": "rule:admin_only",
        "delete_metering_label_rule": "rule:admin_only",
        "get_metering_label_rule": "rule:admin_only",
        "get_network_ip_availability": "rule:admin_only",
        "get_quota": "rule:admin_or_project_reader",
        "update_quota": "rule:admin_only",
        "delete_quota": "rule:admin_only",
        "get_rbac_policy": "rule:admin_or_project_reader",
        "get_dhcp-networks": "rule:admin_only",
        "create_dhcp-network": "rule:admin_only",
        "delete_dhcp-network": "rule:admin_only",
        "get_dhcp-agents": "rule:admin_only",
        "get_l3-routers": "rule:admin_only",
        "get_l3-agents": "rule:admin_only",
        "get_availability_zone": "",
        "get_service_provider": "",
        "add_router_interface": "rule:admin_or_project_member",
        "remove_router_interface": "rule:admin_or_project_member",
    ]

    /// Base rules, CRUD rules for each kind, and one rule per guarded attribute.
    static func defaults(for kinds: [ResourceKind]) -> [String: String] {
        var rules = base
        for kind in kinds {
            for action in ["create", "update", "delete"] {
                rules["\(action)_\(kind.member)"] = "rule:admin_or_project_member"
            }
            rules["get_\(kind.member)"] = "rule:admin_or_project_reader"
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
