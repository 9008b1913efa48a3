import SQLKit
import StratusCore

/// Schema of the network database. Version 1 is derived from the resource kinds; later
/// changes get their own versions.
enum NetworkMigrations {
    static let all: [Migration] = [
        Migration(1, "resources") { db in
            for kind in ResourceKind.all {
                for statement in RecordStore.createTable(kind) { try await db.raw(SQLQueryString(statement)).run() }
            }
            for statement in auxiliary { try await db.raw(SQLQueryString(statement)).run() }
        },
        Migration(2, "fixed IP lookups by address") { db in
            try await db.raw("CREATE INDEX ix_ip_allocations_address ON ip_allocations (ip_address)").run()
        },
    ]

    static let auxiliary = [
        "CREATE TABLE tags (resource_type VARCHAR(64) NOT NULL, resource_id VARCHAR(64) NOT NULL, tag VARCHAR(255) NOT NULL, PRIMARY KEY (resource_type, resource_id, tag))",
        "CREATE INDEX ix_tags_tag ON tags (resource_type, tag)",
        // one row per fixed IP; the primary key makes concurrent allocations of one address fail
        "CREATE TABLE ip_allocations (subnet_id VARCHAR(64) NOT NULL, ip_address VARCHAR(64) NOT NULL, network_id VARCHAR(64) NOT NULL, port_id VARCHAR(64) NOT NULL, position BIGINT NOT NULL, PRIMARY KEY (subnet_id, ip_address))",
        "CREATE INDEX ix_ip_allocations_port ON ip_allocations (port_id)",
        "CREATE INDEX ix_ip_allocations_network ON ip_allocations (network_id, ip_address)",
        "CREATE TABLE quotas (project_id VARCHAR(64) NOT NULL, resource VARCHAR(64) NOT NULL, hard_limit BIGINT NOT NULL, PRIMARY KEY (project_id, resource))",
        "CREATE TABLE network_dhcp_agents (network_id VARCHAR(64) NOT NULL, agent_id VARCHAR(64) NOT NULL, PRIMARY KEY (network_id, agent_id))",
        "CREATE TABLE router_l3_agents (router_id VARCHAR(64) NOT NULL, agent_id VARCHAR(64) NOT NULL, PRIMARY KEY (router_id, agent_id))",
        "CREATE UNIQUE INDEX ux_ports_mac ON ports (network_id, mac_address)",
        "CREATE INDEX ix_ports_device ON ports (device_id)",
        "CREATE INDEX ix_subnets_network ON subnets (network_id)",
        "CREATE UNIQUE INDEX ux_agents_type_host ON agents (agent_type, host)",
        // one default group per project, however many requests race to create it
        "CREATE UNIQUE INDEX ux_security_groups_default ON security_groups (project_id) WHERE name = 'default'",
    ]
}
