import Hummingbird
import StratusCore

/// Version discovery (`/`, `/v2.0`) and the extension list clients read to decide what to call.
extension NetworkAPI {
    /// The extensions this server implements: alias, name, description.
    static let extensions: [(String, String, String)] = [
        ("address-scope", "Address scope", "Address scopes extension."),
        ("agent", "agent", "The agent management extension."),
        ("allowed-address-pairs", "Allowed Address Pairs", "Provides allowed address pairs"),
        ("availability_zone", "Availability Zone", "The availability zone extension."),
        ("binding", "Port Binding", "Expose port bindings of a virtual port to external application"),
        ("default-subnetpools", "Default Subnetpools", "Provides ability to mark and use a subnetpool as the default."),
        ("dhcp_agent_scheduler", "DHCP Agent Scheduler", "Schedule networks among dhcp agents"),
        ("dns-domain-ports", "dns_domain for ports", "Allows the DNS domain to be specified for a network port."),
        ("dns-integration", "DNS Integration", "Provides integration with DNS."),
        ("empty-string-filtering", "Empty String Filtering Extension", "Allow filtering by attributes with empty string value"),
        ("external-net", "Neutron external network", "Adds external network attribute to network resource."),
        ("extra_dhcp_opt", "Neutron Extra DHCP options", "Extra options configuration for DHCP."),
        ("extraroute", "Neutron Extra Route", "Extra routes configuration for L3 router"),
        ("extraroute-atomic", "Atomically add/remove extra routes", "Edit extra routes of a router on server side by atomically adding/removing extra routes"),
        ("ext-gw-mode", "Neutron L3 Configurable external gateway mode", "Extension of the router abstraction for specifying whether SNAT should occur on the external gateway"),
        ("filter-validation", "Filter parameters validation", "Provides validation on filter parameters."),
        ("fip-port-details", "Floating IP Port Details Extension", "Add port_details attribute to Floating IP resource"),
        ("floating-ip-port-forwarding", "Floating IP Port Forwarding", "Provide a way to configure port forwarding on Floating IP"),
        ("ip-substring-filtering", "IP address substring filtering", "Provides IP address substring filtering when listing ports"),
        ("l3_agent_scheduler", "L3 Agent Scheduler", "Schedule routers among l3 agents"),
        ("metering", "Neutron Metering", "Neutron Metering extension."),
        ("metering_source_and_destination_fields", "Neutron Metering with source and destination filtering", "Neutron Metering extension that enables the use of source and destination IP prefixes."),
        ("multi-provider", "Multi Provider Network", "Expose mapping of virtual networks to multiple physical networks"),
        ("net-mtu", "Network MTU", "Provides MTU attribute for a network resource."),
        ("net-mtu-writable", "Network MTU (writable)", "Provides a writable MTU attribute for a network resource."),
        ("network-ip-availability", "Network IP Availability", "Provides IP availability data for each network and subnet."),
        ("network_availability_zone", "Network Availability Zone", "Availability zone support for network."),
        ("pagination", "Pagination support", "Extension that indicates that pagination is enabled."),
        ("port-security", "Port Security", "Provides port security"),
        ("project-id", "project_id field enabled", "Extension that indicates that project_id field is enabled."),
        ("provider", "Provider Network", "Expose mapping of virtual networks to physical networks"),
        ("qos", "Quality of Service", "The Quality of Service extension."),
        ("qos-bw-minimum-ingress", "Ingress minimum bandwidth rule", "Support ingress direction for minimum bandwidth rule"),
        ("qos-default", "QoS default policy", "Expose the QoS default policy per project"),
        ("qos-bw-limit-direction", "Direction for QoS bandwidth limit rule", "Allow to configure QoS bandwidth limit rule with specific direction: ingress or egress"),
        ("qos-rule-type-details", "QoS rule type details", "Expose details about QoS rule types supported by loaded backend drivers"),
        ("quotas", "Quota management support", "Expose functions for quotas management per project"),
        ("quota_details", "Quota details management support", "Expose functions for quotas usage statistics per project"),
        ("rbac-policies", "RBAC Policies", "Allows creation and modification of policies that control tenant access to resources."),
        ("rbac-address-scope", "Add address_scope type to RBAC", "Add address_scope type to RBAC"),
        ("rbac-subnetpool", "Add subnetpool type to RBAC", "Add subnetpool type to RBAC"),
        ("revision-if-match", "If-Match constraints based on revision_number", "Extension indicating that If-Match based on revision_number is supported."),
        ("router", "Neutron L3 Router", "Router abstraction for basic L3 forwarding between L2 Neutron networks and access to external networks via a NAT gateway."),
        ("router_availability_zone", "Router Availability Zone", "Availability zone support for router."),
        ("security-group", "security-group", "The security groups extension."),
        ("segment", "Segment", "Segments extension."),
        ("service-type", "Neutron Service Type Management", "API for retrieving service providers for Neutron advanced services"),
        ("sorting", "Sorting support", "Extension that indicates that sorting is enabled."),
        ("standard-attr-description", "standard-attr-description", "Extension to add descriptions to standard attributes"),
        ("standard-attr-revisions", "Resource revision numbers", "This extension will display the revision number of neutron resources."),
        ("standard-attr-tag", "Tag support for resources with standard attribute: subnet, trunk, network_segment_range, router, network, policy, subnetpool, port, security_group, floatingip", "Enables to set tag on resources with standard attribute."),
        ("standard-attr-timestamp", "Resource timestamps", "Adds created_at and updated_at fields to all Neutron resources that have Neutron standard attributes."),
        ("stateful-security-group", "Stateful security group", "Indicates if the security group is stateful or not"),
        ("subnet_allocation", "Subnet Allocation", "Enables allocation of subnets from a subnet pool"),
        ("subnet-service-types", "Subnet service types", "Provides ability to set the subnet service_types field"),
        ("tag", "Tag support", "Enables to set tag on resources."),
        ("tag-ports-during-bulk-creation", "Tag Ports During Bulk Creation", "Allow to tag ports during bulk creation"),
    ]

    func registerVersions(on router: Router<StratusContext>) {
        router.get("/") { request, _ -> Response in
            .json(["versions": [self.version(request)]])
        }
        router.get("/v2.0") { request, context -> Response in
            _ = try self.caller(context)
            let resources = ResourceKind.all.filter { $0.routed && $0.parentKind == nil }.map { kind -> JSON in
                [
                    "name": .string(kind.member), "collection": .string(kind.collection),
                    "links": [["href": .string(request.baseURL + "/v2.0/" + kind.path), "rel": "self"]],
                ]
            }
            return .json(["resources": .array(resources)])
        }
        router.get("/v2.0/extensions") { _, context -> Response in
            _ = try self.caller(context)
            return .json(["extensions": .array(Self.extensions.map(Self.extensionBody))])
        }
        router.get("/v2.0/extensions/:alias") { _, context -> Response in
            _ = try self.caller(context)
            let alias = context.parameters.get("alias") ?? ""
            guard let ext = Self.extensions.first(where: { $0.0 == alias }) else {
                throw NeutronError.notFound("ExtensionNotFound", "Extension with alias \(alias) does not exist")
            }
            return .json(["extension": Self.extensionBody(ext)])
        }
    }

    private func version(_ request: Request) -> JSON {
        ["id": "v2.0", "status": "CURRENT", "links": [["href": .string(request.baseURL + "/v2.0/"), "rel": "self"]]]
    }

    private static func extensionBody(_ ext: (String, String, String)) -> JSON {
        ["alias": .string(ext.0), "name": .string(ext.1), "description": .string(ext.2), "updated": "2013-01-20T00:00:00-00:00", "links": []]
    }
}
