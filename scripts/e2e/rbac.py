#!/usr/bin/env python3
"""The RBAC matrix of issue 21 (run by scripts/e2e/rbac.sh DATA_DIR).

As admin it makes projects A and B (and C, D as image-member and delete targets), users memberA
(member on A), readerA (reader on A) and memberB (member on B). For every resource in RESOURCES,
memberA (the owner) makes one; then memberA, readerA and memberB each try every operation on it,
and the status (and, for lists, whether A's resource is visible) is compared with what the upstream
default policy says. One check per (resource, actor, operation). Creations that succeed are undone
at once; memberA's deletes run last, in reverse table order; everything made is deleted at the end.

Expectations are a tuple (memberA, readerA, memberB) per operation: OK (any 2xx), a status, a set
of statuses, SEE (200, the target listed), HIDE (200, not listed) or NOLEAK (HIDE, or the filter
refused). They follow upstream's defaults, not Stratus's, so a FAIL is a Stratus bug (or a
documented difference).
"""
import json
import os
import re
import secrets
import sys
import time

import requests

MEMBER, READER, OTHER = "memberA", "readerA", "memberB"
ACTORS = (MEMBER, READER, OTHER)
OK, SEE, HIDE, NOLEAK = "2xx", "listed", "not listed", "not listed, or 400/403"
S = os.environ.get("E2E_SUFFIX") or secrets.token_hex(3)
MICROVERSIONS = {"compute": "compute 2.64", "volumev3": "volume 3.9", "placement": "placement 1.20"}
WRITES = ("create", "update", "delete")

# Expectation templates (memberA, readerA, memberB).
PROJECT = {"list": (SEE, SEE, HIDE), "show": (OK, OK, 404), "create": (OK, 403, OK),
           "update": (OK, 403, 404), "delete": (OK, 403, 404)}
CHILD = {"list": (OK, OK, 404), "show": (OK, OK, 404), "create": (OK, 403, 404),
         "update": (OK, 403, 404), "delete": (OK, 403, 404)}
ADMIN_ONLY = {op: (403, 403, 403) for op in ("list", "show", "create", "update", "delete")}
READ_ALL = {"list": (SEE, SEE, SEE), "show": (OK, OK, OK), "create": (403, 403, 403),
            "update": (403, 403, 403), "delete": (403, 403, 403)}
SWIFT = {"list": (SEE, 403, 403), "show": (OK, 403, 403), "create": (OK, 403, 403),
         "update": (OK, 403, 403), "delete": (OK, 403, 403)}


def R(service, name, ops, expect, rules, setup=(), ids=None, cleanup=None, retry=False, wait=None,
      made=None, target=None, helpers=None, last=False, leak=None):
    """A table row. ops: {op: (METHOD, PATH[, BODY[, HEADERS]])}, run in order (memberA's delete
    last); PATH, BODY and HEADERS are filled with the context ({A}, {S}, {actor}, {me}, setup ids).
    setup: steps (actor, METHOD, PATH, BODY, KEY[, WAIT]) whose results KEY names in the context.
    ids: where the ids are in a list answer (`servers[].id`). cleanup: PATH deleting what a create
    made ({id}: its id, found at `made`). retry: memberA's delete is retried while busy.
    wait: (PATH, FIELD, VALUE) waited for before each create (a volume back to available).
    made: where a create answer has the id (default: the setup's KEY). target: what a list must
    (not) show (default: the setup's first id). helpers: {KEY: PATH} deleting other setup results.
    last: run after memberA's deletes (a password change revokes tokens). leak: {op: TEXT} that
    only A's data has (memberB's wrongly allowed answer without it is no leak)."""
    return dict(service=service, name=name, ops=ops, expect=expect, rules=rules, setup=setup, ids=ids,
                cleanup=cleanup, retry=retry, wait=wait, made=made, target=target, helpers=helpers or {},
                last=last, leak=leak or {})


NOVA_R = "rule:project_reader_or_admin (role:reader and project_id:%(project_id)s, or admin)"
NOVA_M = "rule:project_member_or_admin (role:member and project_id:%(project_id)s, or admin)"
NOVA_ADMIN = "rule:context_is_admin (role:admin)"
NOVA_KP = "(rule:context_is_admin) or user_id:%(user_id)s"
GL_R = "rule:context_is_admin or (role:reader and project_id:%(project_id)s)"
GL_GET = "admin or (role:reader and (project_id:%(project_id)s or member or public/community/shared))"
GL_M = "rule:context_is_admin or (role:member and project_id:%(project_id)s)"
NE_R = "ADMIN_OR_PROJECT_READER (role:reader and project_id:%(project_id)s); 404 when not visible"
NE_M = "ADMIN_OR_PROJECT_MEMBER (role:member and project_id:%(project_id)s); 404 if not gettable"
NE_NET_M = "ADMIN_OR_NET_OWNER_MEMBER (role:member and network owner); 403 if the item is gettable"
CI_R = "xena_system_admin_or_project_reader (role:admin or role:reader and project_id)"
CI_M = "xena_system_admin_or_project_member (role:admin or role:member and project_id)"
CI_ADMIN = "rule:admin_api"
CI_ALL = "all_tenants is for admins; others get their own project's (or the filter refused)"
SW = "keystoneauth: operator_roles (member) own account; project_reader_roles empty by default"
PL_ADMIN = "ADMIN_OR_SERVICE (rule:admin_or_service_api)"
KS_ADMIN = "rule:admin_required"
KS_DR = "admin or (role:reader and system_scope:all) or (role:reader and domain_id:%(target.domain_id)s)"
KS_CRED = "(rule:admin_required) or user_id:%(target.credential.user_id)s"
KS_APP = "rule:admin_required or rule:system_reader or user_id:%(user_id)s"


def crud_rules(prefix, reader, member, names=None):
    names = names or {"list": "get_all", "show": "get", "create": "create", "update": "update",
                      "delete": "delete"}
    return {op: f"{prefix}{names[op]}: {reader if op in ('list', 'show') else member}" for op in names}


def neutron(kind, plural, body, update, expect=PROJECT, rules=None, setup_actor=MEMBER, setup_body=None,
            **extra):
    path = f"/v2.0/{plural}"
    expect = {**expect, "list-filter": expect["list"]}
    return R("network", plural, {
        "list": ("GET", path), "list-filter": ("GET", path + "?project_id={A}"),
        "show": ("GET", f"{path}/{{{plural}}}"), "create": ("POST", path, {kind: body}),
        "update": ("PUT", f"{path}/{{{plural}}}", {kind: update}),
        "delete": ("DELETE", f"{path}/{{{plural}}}")}, expect,
        {"list-filter": f"get_{kind}: {NE_R} (a project_id filter for another project lists nothing)",
         **(rules or {op: f"{verb}_{kind}: {NE_R if op in ('list', 'show') else NE_M}" for op, verb in
                      [("list", "get"), ("show", "get"), ("create", "create"), ("update", "update"),
                       ("delete", "delete")]})},
        setup=[(setup_actor, "POST", path, {kind: setup_body or body}, f"{plural}=={kind}.id")],
        ids=f"{plural.split('/')[-1].replace('-', '_')}[].id", cleanup=f"{path}/{{id}}", **extra)


NET = {"name": "rbac-{S}-{actor}"}
RESOURCES = [
    # ---- Network (Neutron)
    neutron("network", "networks", NET, {"description": "x"}),
    neutron("subnet", "subnets", {"network_id": "{networks}", "cidr": "10.9.{n}.0/24", "ip_version": 4},
            {"description": "x"}, setup_body={"network_id": "{networks}", "cidr": "10.9.9.0/24", "ip_version": 4},
            expect={**PROJECT, "create": (OK, 403, 403)},
            rules={**{op: f"{op}_subnet: {NE_R}" for op in ("list", "show")},
                   "create": f"create_subnet: {NE_NET_M}", "update": "update_subnet: ADMIN_OR_NET_OWNER_MEMBER",
                   "delete": "delete_subnet: ADMIN_OR_NET_OWNER_MEMBER"}),
    neutron("port", "ports", {"network_id": "{networks}", "name": "rbac-{S}-{actor}"}, {"description": "x"},
            expect={**PROJECT, "create": (OK, 403, 403)},
            rules={**{op: f"get_port: {NE_R}" for op in ("list", "show")},
                   "create": "create_port: ADMIN_OR_SERVICE or NET_OWNER_MEMBER (or member on a shared net)",
                   "update": "update_port: ADMIN_OR_PROJECT_MEMBER or NET_OWNER_MEMBER",
                   "delete": "delete_port: ADMIN_OR_PROJECT_MEMBER or NET_OWNER_MEMBER"}),
    neutron("router", "routers", NET, {"description": "x"}),
    neutron("security_group", "security-groups", NET, {"description": "x"}),
    R("network", "security-group-rules", {
        "list": ("GET", "/v2.0/security-group-rules"), "show": ("GET", "/v2.0/security-group-rules/{sgr}"),
        "create": ("POST", "/v2.0/security-group-rules", {"security_group_rule": {
            "security_group_id": "{sgr_group}", "direction": "ingress", "protocol": "tcp",
            "port_range_min": "{port}", "port_range_max": "{port}", "ethertype": "IPv4"}}),
        "delete": ("DELETE", "/v2.0/security-group-rules/{sgr}")},
        {**PROJECT, "create": (OK, 403, 403)},
        {"list": f"get_security_group_rule: {NE_R}", "show": f"get_security_group_rule: {NE_R}",
         "create": "create_security_group_rule: ADMIN_OR_SG_OWNER_MEMBER",
         "delete": "delete_security_group_rule: ADMIN_OR_PROJECT_MEMBER or ADMIN_OR_SG_OWNER_MEMBER"},
        setup=[(MEMBER, "POST", "/v2.0/security-groups", {"security_group": {"name": "rbac-{S}-rules"}},
                "sgr_group==security_group.id"),
               (MEMBER, "POST", "/v2.0/security-group-rules", {"security_group_rule": {
                   "security_group_id": "{sgr_group}", "direction": "ingress", "protocol": "tcp",
                   "port_range_min": 22, "port_range_max": 22, "ethertype": "IPv4"}}, "sgr==security_group_rule.id")],
        ids="security_group_rules[].id", cleanup="/v2.0/security-group-rules/{id}", target="{sgr}",
        made="security_group_rule.id",
        helpers={"sgr_group": "/v2.0/security-groups/{sgr_group}"}),
    neutron("floatingip", "floatingips", {"floating_network_id": "{public}"}, {"description": "x"}),
    neutron("address_scope", "address-scopes", {"name": "rbac-{S}-{actor}", "ip_version": 4}, {"name": "x"}),
    neutron("subnetpool", "subnetpools", {"name": "rbac-{S}-{actor}", "prefixes": ["10.{n}0.0.0/16"],
                                          "default_prefixlen": 24}, {"description": "x"},
            setup_body={"name": "rbac-{S}", "prefixes": ["10.200.0.0/16"], "default_prefixlen": 24}),
    neutron("policy", "qos/policies", NET, {"description": "x"}, setup_actor="admin",
            setup_body={"name": "rbac-{S}", "project_id": "{A}"},
            expect={**PROJECT, "create": (403, 403, 403), "update": (403, 403, 404), "delete": (403, 403, 404)},
            rules={"list": "get_policy: ADMIN_OR_PROJECT_READER or shared_qos_policy",
                   "show": "get_policy: ADMIN_OR_PROJECT_READER or shared_qos_policy",
                   **{op: f"{op}_policy: ADMIN_OR_PROJECT_MANAGER (admin only in 2023.x)"
                      for op in ("create", "update", "delete")}}),
    # ---- Image (Glance)
    R("image", "images", {
        "list": ("GET", "/v2/images"), "list-filter": ("GET", "/v2/images?owner={A}"),
        "show": ("GET", "/v2/images/{images}"),
        "create": ("POST", "/v2/images", {"name": "rbac-{S}-{actor}", "disk_format": "raw",
                                          "container_format": "bare"}),
        "update": ("PATCH", "/v2/images/{images}", [{"op": "replace", "path": "/name", "value": "x-{S}"}],
                   {"Content-Type": "application/openstack-images-v2.1-json-patch"}),
        "delete": ("DELETE", "/v2/images/{images}")}, {**PROJECT, "list-filter": (SEE, SEE, HIDE)},
        {"list": f"get_images: {GL_R}", "list-filter": f"get_images: {GL_R} (owner filter within what is visible)",
         "show": f"get_image: {GL_GET}",
         "create": "add_image: admin or (role:member and project_id:%(project_id)s and project_id:%(owner)s)",
         "update": f"modify_image: {GL_M}", "delete": f"delete_image: {GL_M}"},
        setup=[(MEMBER, "POST", "/v2/images", {"name": "rbac-{S}", "disk_format": "raw", "container_format": "bare",
                                                "visibility": "private"}, "images==id")],
        ids="images[].id", cleanup="/v2/images/{id}"),
    R("image", "image-members", {
        "list": ("GET", "/v2/images/{shared_image}/members"),
        "show": ("GET", "/v2/images/{shared_image}/members/{C}"),
        "create": ("POST", "/v2/images/{shared_image}/members", {"member": "{D}"}),
        "update": ("PUT", "/v2/images/{shared_image}/members/{C}", {"status": "accepted"}),
        "delete": ("DELETE", "/v2/images/{shared_image}/members/{C}")},
        {**CHILD, "update": (403, 403, 404)},
        {"list": "get_members: admin or (role:reader and (project_id or member_id)); image not visible: 404",
         "show": "get_member: same as get_members",
         "create": f"add_member: {GL_M}", "delete": f"delete_member: {GL_M}",
         "update": "modify_member: admin or (role:member and project_id:%(member_id)s) (only the member)"},
        setup=[(MEMBER, "POST", "/v2/images", {"name": "rbac-{S}-shared", "disk_format": "raw",
                                                "container_format": "bare", "visibility": "shared"},
                "shared_image==id"),
               (MEMBER, "POST", "/v2/images/{shared_image}/members", {"member": "{C}"}, None)],
        cleanup="/v2/images/{shared_image}/members/{D}",
        helpers={"shared_image": "/v2/images/{shared_image}"}),
    R("image", "image-tags", {
        "create": ("PUT", "/v2/images/{images}/tags/t-{actor}"),
        "delete": ("DELETE", "/v2/images/{images}/tags/t-{S}")},
        {"create": (OK, 403, 404), "delete": (OK, 403, 404)},
        {"create": f"modify_image: {GL_M}", "delete": f"modify_image: {GL_M}"},
        setup=[(MEMBER, "PUT", "/v2/images/{images}/tags/t-{S}", None, None)],
        cleanup="/v2/images/{images}/tags/t-{actor}"),
    R("image", "image-data", {
        "show": ("GET", "/v2/images/{image}/file"),
        "update": ("PUT", "/v2/images/{shared_image}/file", "data", {"Content-Type": "application/octet-stream"})},
        {"show": (OK, 403, OK), "update": (OK, 403, 404)},
        {"show": "download_image: admin or (role:member and (owner, member or public/community/shared)) "
                 "(a public image; readers may not download)",
         "update": f"upload_image: {GL_M}"}),
    # ---- Compute (Nova)
    R("compute", "servers", {
        "list": ("GET", "/servers"), "list-filter": ("GET", "/servers?tenant_id={A}"),
        "list-all": ("GET", "/servers/detail?all_tenants=1"), "show": ("GET", "/servers/{servers}"),
        "create": ("POST", "/servers", {"server": {"name": "rbac-{S}-{actor}", "flavorRef": "{flavor_nano}",
                                                   "imageRef": "{image}", "networks": "none"}}),
        "update": ("PUT", "/servers/{servers}", {"server": {"name": "x-{S}"}}),
        "action": ("POST", "/servers/{servers}/action", {"reboot": {"type": "SOFT"}}),
        "list-actions": ("GET", "/servers/{servers}/os-instance-actions"),
        "delete": ("DELETE", "/servers/{servers}")},
        {**PROJECT, "list-filter": (SEE, SEE, HIDE), "list-all": (403, 403, 403), "action": (OK, 403, 404),
         "list-actions": (OK, OK, 404)},
        {"list-filter": "os_compute_api:servers:index: tenant_id is ignored without all_tenants",
         "list-all": f"os_compute_api:servers:detail:get_all_tenants: {NOVA_ADMIN}",
         "action": f"os_compute_api:servers:reboot: {NOVA_M}",
         "list-actions": f"os_compute_api:os-instance-actions:list: {NOVA_R}",
         **crud_rules("os_compute_api:servers:", NOVA_R, NOVA_M, {"list": "index", "show": "show",
                                                                  "create": "create", "update": "update",
                                                                  "delete": "delete"})},
        setup=[(MEMBER, "POST", "/servers", {"server": {"name": "rbac-{S}", "flavorRef": "{flavor_nano}",
                                                        "imageRef": "{image}", "networks": [{"uuid": "{srvnet}"}]}},
                "servers==server.id", ("/servers/{servers}", "server.status", "ACTIVE"))],
        ids="servers[].id", cleanup="/servers/{id}", retry=True),
    R("compute", "server-metadata", {
        "list": ("GET", "/servers/{servers}/metadata"), "show": ("GET", "/servers/{servers}/metadata/k1"),
        "create": ("POST", "/servers/{servers}/metadata", {"metadata": {"k-{actor}": "v"}}),
        "update": ("PUT", "/servers/{servers}/metadata/k1", {"meta": {"k1": "v2"}}),
        "delete": ("DELETE", "/servers/{servers}/metadata/k1")}, CHILD,
        crud_rules("os_compute_api:server-metadata:", NOVA_R, NOVA_M,
                   {"list": "index", "show": "show", "create": "create", "update": "update", "delete": "delete"}),
        setup=[(MEMBER, "PUT", "/servers/{servers}/metadata/k1", {"meta": {"k1": "v1"}}, None)],
        cleanup="/servers/{servers}/metadata/k-{actor}"),
    R("compute", "keypairs", {
        "list": ("GET", "/os-keypairs"), "show": ("GET", "/os-keypairs/{keypairs}"),
        "show-for-user": ("GET", "/os-keypairs/{keypairs}?user_id={uid_memberA}"),
        "create": ("POST", "/os-keypairs", {"keypair": {"name": "rbac-{S}-{actor}"}}),
        "delete": ("DELETE", "/os-keypairs/{keypairs}")},
        {"list": (SEE, HIDE, HIDE), "show": (OK, 404, 404), "show-for-user": (OK, 403, 403),
         "create": (OK, OK, OK), "delete": (OK, 404, 404)},
        {op: f"os_compute_api:os-keypairs:{name}: {NOVA_KP} (looked up among the caller's own keypairs)"
         for op, name in [("list", "index"), ("show", "show"), ("show-for-user", "show"), ("create", "create"),
                          ("delete", "delete")]},
        setup=[(MEMBER, "POST", "/os-keypairs", {"keypair": {"name": "rbac-{S}"}}, "keypairs==keypair.name")],
        ids="keypairs[].keypair.name", cleanup="/os-keypairs/{id}"),
    R("compute", "server-groups", {
        "list": ("GET", "/os-server-groups"), "list-all": ("GET", "/os-server-groups?all_projects=True"),
        "show": ("GET", "/os-server-groups/{server_groups}"),
        "create": ("POST", "/os-server-groups", {"server_group": {"name": "rbac-{S}-{actor}",
                                                                  "policy": "anti-affinity"}}),
        "delete": ("DELETE", "/os-server-groups/{server_groups}")},
        {**PROJECT, "list-all": (SEE, SEE, HIDE), "show": (OK, OK, 403), "delete": (OK, 403, 403)},
        {op: f"os_compute_api:os-server-groups:{name}: {NOVA_R if op in ('list', 'list-all', 'show') else NOVA_M}"
         + (" (group found, policy denies: 403)" if op in ("show", "delete") else "")
         + (" (all_projects is ignored for non-admins: their own groups)" if op == "list-all" else "")
         for op, name in [("list", "index"), ("list-all", "index"), ("show", "show"), ("create", "create"),
                          ("delete", "delete")]},
        setup=[(MEMBER, "POST", "/os-server-groups", {"server_group": {"name": "rbac-{S}", "policy": "affinity"}},
                "server_groups==server_group.id")],
        ids="server_groups[].id", cleanup="/os-server-groups/{id}"),
    R("compute", "flavors", {
        "list": ("GET", "/flavors"), "show": ("GET", "/flavors/{flavor}"),
        "create": ("POST", "/flavors", {"flavor": {"name": "rbac-{S}-{actor}", "ram": 64, "vcpus": 1, "disk": 0}}),
        "update": ("PUT", "/flavors/{flavor}", {"flavor": {"description": "x"}}),
        "delete": ("DELETE", "/flavors/{flavor}")}, READ_ALL,
        {"list": "(no policy: anyone)", "show": "(no policy: anyone)",
         **{op: f"os_compute_api:os-flavor-manage:{op}: {NOVA_ADMIN}" for op in WRITES}},
        ids="flavors[].id", cleanup="/flavors/{id}", made="flavor.id", target="{flavor}"),
    R("compute", "compute-quotas", {
        "show": ("GET", "/os-quota-sets/{A}"), "show-detail": ("GET", "/os-quota-sets/{A}/detail"),
        "update": ("PUT", "/os-quota-sets/{A}", {"quota_set": {"instances": 20}}),
        "delete": ("DELETE", "/os-quota-sets/{A}")},
        {"show": (OK, OK, 403), "show-detail": (OK, OK, 403), "update": (403, 403, 403),
         "delete": (403, 403, 403)},
        {"show": f"os_compute_api:os-quota-sets:show: {NOVA_R}",
         "show-detail": f"os_compute_api:os-quota-sets:detail: {NOVA_R}",
         "update": f"os_compute_api:os-quota-sets:update: {NOVA_ADMIN}",
         "delete": f"os_compute_api:os-quota-sets:delete: {NOVA_ADMIN}"}),
    R("compute", "limits", {"show": ("GET", "/limits"), "show-project": ("GET", "/limits?tenant_id={A}")},
      {"show": (OK, OK, OK), "show-project": (403, 403, 403)},
      {"show": "os_compute_api:limits: @ (anyone)",
       "show-project": f"os_compute_api:limits:other_project: {NOVA_ADMIN} (checked whenever tenant_id is given)"},
      leak={"show-project": '"maxTotalInstances": 17'}),
    # ---- Block Storage (Cinder)
    R("volumev3", "volumes", {
        "list": ("GET", "/volumes"), "list-all": ("GET", "/volumes/detail?all_tenants=1&project_id={A}"),
        "show": ("GET", "/volumes/{volumes}"),
        "create": ("POST", "/volumes", {"volume": {"size": 1, "name": "rbac-{S}-{actor}"}}),
        "update": ("PUT", "/volumes/{volumes}", {"volume": {"description": "x"}}),
        "action": ("POST", "/volumes/{vol3}/action", {"os-extend": {"new_size": 2}}),
        "delete": ("DELETE", "/volumes/{volumes}")},
        {**PROJECT, "list-all": (SEE, SEE, NOLEAK), "action": (OK, 403, 404)},
        {**crud_rules("volume:", CI_R, CI_M), "list-all": CI_ALL, "action": f"volume:extend: {CI_M}"},
        setup=[(MEMBER, "POST", "/volumes", {"volume": {"size": 1, "name": "rbac-{S}"}}, "volumes==volume.id",
                ("/volumes/{volumes}", "volume.status", "available"))],
        ids="volumes[].id", cleanup="/volumes/{id}", retry=True),
    R("volumev3", "volume-metadata", {
        "list": ("GET", "/volumes/{volumes}/metadata"), "show": ("GET", "/volumes/{volumes}/metadata/k1"),
        "create": ("POST", "/volumes/{volumes}/metadata", {"metadata": {"k-{actor}": "v"}}),
        "update": ("PUT", "/volumes/{volumes}/metadata/k1", {"meta": {"k1": "v2"}}),
        "delete": ("DELETE", "/volumes/{volumes}/metadata/k1")}, CHILD,
        crud_rules("volume:", CI_R, CI_M, {"list": "get_volume_metadata", "show": "get_volume_metadata",
                                           "create": "create_volume_metadata", "update": "update_volume_metadata",
                                           "delete": "delete_volume_metadata"}),
        setup=[(MEMBER, "POST", "/volumes/{volumes}/metadata", {"metadata": {"k1": "v1"}}, None)],
        cleanup="/volumes/{volumes}/metadata/k-{actor}"),
    R("volumev3", "snapshots", {
        "list": ("GET", "/snapshots"), "list-all": ("GET", "/snapshots/detail?all_tenants=1&project_id={A}"),
        "show": ("GET", "/snapshots/{snapshots}"),
        "create": ("POST", "/snapshots", {"snapshot": {"volume_id": "{volumes}", "name": "rbac-{S}-{actor}"}}),
        "update": ("PUT", "/snapshots/{snapshots}", {"snapshot": {"description": "x"}}),
        "delete": ("DELETE", "/snapshots/{snapshots}")},
        {**PROJECT, "list-all": (SEE, SEE, NOLEAK), "create": (OK, 403, 404)},
        {**crud_rules("volume:", CI_R, CI_M, {"list": "get_all_snapshots", "show": "get_snapshot",
                                              "create": "create_snapshot", "update": "update_snapshot",
                                              "delete": "delete_snapshot"}), "list-all": CI_ALL},
        setup=[(MEMBER, "POST", "/snapshots", {"snapshot": {"volume_id": "{volumes}", "name": "rbac-{S}"}},
                "snapshots==snapshot.id", ("/snapshots/{snapshots}", "snapshot.status", "available"))],
        ids="snapshots[].id", cleanup="/snapshots/{id}", retry=True),
    R("volumev3", "backups", {
        "list": ("GET", "/backups"), "list-all": ("GET", "/backups/detail?all_tenants=1&project_id={A}"),
        "show": ("GET", "/backups/{backups}"),
        "create": ("POST", "/backups", {"backup": {"volume_id": "{volumes}", "name": "rbac-{S}-{actor}"}}),
        "update": ("PUT", "/backups/{backups}", {"backup": {"description": "x"}}),
        "delete": ("DELETE", "/backups/{backups}")},
        {**PROJECT, "list-all": (SEE, SEE, NOLEAK), "create": (OK, 403, 404)},
        {**crud_rules("backup:", CI_R, CI_M), "list-all": CI_ALL},
        setup=[(MEMBER, "POST", "/backups", {"backup": {"volume_id": "{volumes}", "name": "rbac-{S}"}},
                "backups==backup.id", ("/backups/{backups}", "backup.status", "available"))],
        ids="backups[].id", cleanup="/backups/{id}", retry=True,
        wait=("/volumes/{volumes}", "volume.status", "available")),
    R("volumev3", "volume-types", {
        "list": ("GET", "/types"), "show": ("GET", "/types/{vtype}"),
        "create": ("POST", "/types", {"volume_type": {"name": "rbac-{S}-{actor}"}}),
        "update": ("PUT", "/types/{vtype}", {"volume_type": {"description": "x"}}),
        "delete": ("DELETE", "/types/{vtype}")}, READ_ALL,
        {"list": f"volume_extension:type_get_all: {CI_R}", "show": f"volume_extension:type_get: {CI_R}",
         **{op: f"volume_extension:types_manage: {CI_ADMIN}" for op in WRITES}},
        ids="volume_types[].id", cleanup="/types/{id}", made="volume_type.id",
        target="{vtype}"),
    R("volumev3", "volume-transfers", {
        "list": ("GET", "/os-volume-transfer"), "show": ("GET", "/os-volume-transfer/{transfers}"),
        "create": ("POST", "/os-volume-transfer", {"transfer": {"volume_id": "{vol3}", "name": "rbac-{S}"}}),
        "delete": ("DELETE", "/os-volume-transfer/{transfers}")}, {**PROJECT, "create": (OK, 403, 404)},
        crud_rules("volume:", CI_R, CI_M, {"list": "get_all_transfers", "show": "get_transfer",
                                           "create": "create_transfer", "delete": "delete_transfer"}),
        setup=[(MEMBER, "POST", "/os-volume-transfer", {"transfer": {"volume_id": "{vol2}", "name": "rbac-{S}"}},
                "transfers==transfer.id")],
        ids="transfers[].id", cleanup="/os-volume-transfer/{id}"),
    R("volumev3", "volume-quotas", {
        "show": ("GET", "/os-quota-sets/{A}"),
        "update": ("PUT", "/os-quota-sets/{A}", {"quota_set": {"volumes": 20}}),
        "delete": ("DELETE", "/os-quota-sets/{A}")},
        {"show": (OK, OK, 403), "update": (403, 403, 403), "delete": (403, 403, 403)},
        {"show": f"volume_extension:quotas:show: {CI_R}", "update": f"volume_extension:quotas:update: {CI_ADMIN}",
         "delete": f"volume_extension:quotas:delete: {CI_ADMIN}"}),
    # ---- Object Storage (Swift, A's account for everyone)
    R("object-store", "containers", {
        "list": ("GET", "{account}?format=json"), "show": ("HEAD", "{account}/rbac-{S}"),
        "create": ("PUT", "{account}/rbac-{S}-{actor}"),
        "update": ("POST", "{account}/rbac-{S}", None, {"X-Container-Meta-Color": "blue"}),
        "delete": ("DELETE", "{account}/rbac-{S}")}, SWIFT, {op: SW for op in PROJECT},
        setup=[(MEMBER, "PUT", "{account}/rbac-{S}", None, None)], ids="[].name", target="rbac-{S}",
        cleanup="{account}/rbac-{S}-{actor}"),
    R("object-store", "objects", {
        "list": ("GET", "{account}/rbac-{S}?format=json"), "show": ("GET", "{account}/rbac-{S}/obj"),
        "create": ("PUT", "{account}/rbac-{S}/obj-{actor}", "data"),
        "update": ("POST", "{account}/rbac-{S}/obj", None, {"X-Object-Meta-Color": "blue"}),
        "delete": ("DELETE", "{account}/rbac-{S}/obj")}, SWIFT, {op: SW for op in PROJECT},
        setup=[(MEMBER, "PUT", "{account}/rbac-{S}/obj", "hello", None)], ids="[].name", target="obj",
        cleanup="{account}/rbac-{S}/obj-{actor}"),
    # ---- Placement
    R("placement", "resource-providers", {
        "list": ("GET", "/resource_providers"), "show": ("GET", "/resource_providers/{rp}"),
        "create": ("POST", "/resource_providers", {"name": "rbac-{S}-{actor}"}),
        "update": ("PUT", "/resource_providers/{rp}", {"name": "x-{S}"}),
        "delete": ("DELETE", "/resource_providers/{rp}")}, ADMIN_ONLY,
        {op: f"placement:resource_providers:{op}: {PL_ADMIN}" for op in PROJECT}, cleanup="/resource_providers/{id}",
        made="uuid"),
    R("placement", "traits", {
        "list": ("GET", "/traits"), "show": ("GET", "/traits/{trait}"),
        "create": ("PUT", "/traits/CUSTOM_RBAC_{SU}_{n}"), "delete": ("DELETE", "/traits/{trait}")},
        ADMIN_ONLY, {op: f"placement:traits:{op}: {PL_ADMIN}" for op in PROJECT},
        cleanup="/traits/CUSTOM_RBAC_{SU}_{n}"),
    R("placement", "usages", {"show": ("GET", "/usages?project_id={A}")}, {"show": (OK, OK, 403)},
      {"show": "placement:usages: ADMIN_OR_PROJECT_READER_OR_SERVICE"}),
    # ---- Identity (Keystone)
    R("identity", "projects", {
        "list": ("GET", "/projects"), "list-own": ("GET", "/users/{me}/projects"),
        "show": ("GET", "/projects/{A}"),
        "create": ("POST", "/projects", {"project": {"name": "rbac-{S}-{actor}"}}),
        "update": ("PATCH", "/projects/{A}", {"project": {"description": "x"}}),
        "delete": ("DELETE", "/projects/{D}")},
        {**ADMIN_ONLY, "list-own": (OK, OK, OK), "show": (OK, OK, 403)},
        {"list": f"identity:list_projects: {KS_DR}",
         "list-own": "identity:list_user_projects: admin, system/domain reader or user_id:%(target.user.id)s",
         "show": "identity:get_project: admin, system/domain reader or project_id:%(target.project.id)s",
         **{op: f"identity:{op}_project: ADMIN_OR_DOMAIN_MANAGER" for op in WRITES}},
        cleanup="/projects/{id}", made="project.id"),
    R("identity", "users", {
        "list": ("GET", "/users"), "show-self": ("GET", "/users/{me}"), "show": ("GET", "/users/{uid_memberA}"),
        "create": ("POST", "/users", {"user": {"name": "rbac-{S}-{actor}", "password": "{S}-pw-{S}"}}),
        "update": ("PATCH", "/users/{uid_memberA}", {"user": {"description": "x"}}),
        "delete": ("DELETE", "/users/{spare_user}")},
        {**ADMIN_ONLY, "show-self": (OK, OK, OK), "show": (OK, 403, 403)},
        {"list": f"identity:list_users: {KS_DR}",
         **{op: "identity:get_user: admin, system/domain reader or user_id:%(target.user.id)s"
            for op in ("show", "show-self")},
         **{op: f"identity:{op}_user: ADMIN_OR_DOMAIN_MANAGER" for op in WRITES}},
        cleanup="/users/{id}", made="user.id"),
    R("identity", "role-assignments", {
        "list": ("GET", "/role_assignments?scope.project.id={A}"),
        "list-grants": ("GET", "/projects/{A}/users/{uid_memberA}/roles"),
        "list-user-groups": ("GET", "/users/{uid_memberA}/groups")},
        {"list": (403, 403, 403), "list-grants": (403, 403, 403), "list-user-groups": (OK, 403, 403)},
        {"list": f"identity:list_role_assignments: {KS_DR}", "list-grants": f"identity:list_grants: {KS_DR}",
         "list-user-groups": "identity:list_groups_for_user: admin, system/domain reader or owner"}),
    R("identity", "roles", {
        "list": ("GET", "/roles"), "show": ("GET", "/roles/{role_member}"),
        "create": ("POST", "/roles", {"role": {"name": "rbac-{S}-{actor}"}}),
        "update": ("PATCH", "/roles/{spare_role}", {"role": {"description": "x"}}),
        "delete": ("DELETE", "/roles/{spare_role}")}, ADMIN_ONLY,
        {"list": "identity:list_roles: admin, system reader or domain manager",
         "show": "identity:get_role: admin, system reader or domain manager (member/reader/manager roles)",
         **{op: f"identity:{op}_role: {KS_ADMIN}" for op in WRITES}}, cleanup="/roles/{id}", made="role.id"),
    R("identity", "groups", {
        "list": ("GET", "/groups"), "show": ("GET", "/groups/{spare_group}"),
        "create": ("POST", "/groups", {"group": {"name": "rbac-{S}-{actor}"}}),
        "update": ("PATCH", "/groups/{spare_group}", {"group": {"description": "x"}}),
        "delete": ("DELETE", "/groups/{spare_group}")}, ADMIN_ONLY,
        {"list": f"identity:list_groups: {KS_DR}", "show": f"identity:get_group: {KS_DR}",
         **{op: f"identity:{op}_group: ADMIN_OR_DOMAIN_MANAGER_FOR_GROUPS" for op in WRITES}},
        cleanup="/groups/{id}", made="group.id"),
    R("identity", "domains", {
        "list": ("GET", "/domains"), "show": ("GET", "/domains/default"),
        "create": ("POST", "/domains", {"domain": {"name": "rbac-{S}-{actor}", "enabled": False}}),
        "update": ("PATCH", "/domains/{spare_domain}", {"domain": {"description": "x"}}),
        "delete": ("DELETE", "/domains/{spare_domain}")}, {**ADMIN_ONLY, "show": (OK, OK, OK)},
        {"list": f"identity:list_domains: {KS_DR}",
         "show": "identity:get_domain: admin, system reader, token.domain.id or token.project.domain.id",
         **{op: f"identity:{op}_domain: {KS_ADMIN}" for op in WRITES}}, cleanup="/domains/{id}", made="domain.id"),
    R("identity", "credentials", {
        "list": ("GET", "/credentials"), "show": ("GET", "/credentials/{credentials}"),
        "create": ("POST", "/credentials", {"credential": {"type": "rbac", "user_id": "{uid_memberA}",
                                                           "blob": "b-{actor}"}}),
        "update": ("PATCH", "/credentials/{credentials}", {"credential": {"blob": "x"}}),
        "delete": ("DELETE", "/credentials/{credentials}")},
        {"list": (SEE, HIDE, HIDE), "show": (OK, 403, 403), "create": (OK, 403, 403),
         "update": (OK, 403, 403), "delete": (OK, 403, 403)},
        {"list": "identity:list_credentials: admin, system reader or cred owner (list filtered)",
         "show": "identity:get_credential: admin, system reader or user_id:%(target.credential.user_id)s",
         **{op: f"identity:{op}_credential: {KS_CRED}" for op in WRITES}},
        setup=[(MEMBER, "POST", "/credentials", {"credential": {
            "type": "rbac", "user_id": "{uid_memberA}", "blob": "secret-{S}"}}, "credentials==credential.id")],
        ids="credentials[].id", cleanup="/credentials/{id}"),
    R("identity", "application-credentials", {
        "list": ("GET", "/users/{uid_memberA}/application_credentials"),
        "show": ("GET", "/users/{uid_memberA}/application_credentials/{app_creds}"),
        "create": ("POST", "/users/{uid_memberA}/application_credentials",
                   {"application_credential": {"name": "rbac-{S}-{actor}"}}),
        "create-own": ("POST", "/users/{me}/application_credentials",
                       {"application_credential": {"name": "rbac-{S}-own-{actor}"}}),
        "delete": ("DELETE", "/users/{uid_memberA}/application_credentials/{app_creds}")},
        {"list": (SEE, 403, 403), "show": (OK, 403, 403), "create": (OK, 403, 403), "create-own": (OK, OK, OK),
         "delete": (OK, 403, 403)},
        {"list": f"identity:list_application_credentials: {KS_APP}",
         "show": f"identity:get_application_credential: {KS_APP}",
         "create": "identity:create_application_credential: user_id:%(user_id)s",
         "create-own": "identity:create_application_credential: user_id:%(user_id)s",
         "delete": "identity:delete_application_credential: rule:admin_required or user_id:%(user_id)s"},
        setup=[(MEMBER, "POST", "/users/{uid_memberA}/application_credentials",
                {"application_credential": {"name": "rbac-{S}"}}, "app_creds==application_credential.id")],
        ids="application_credentials[].id", cleanup="/users/{me}/application_credentials/{id}"),
    R("identity", "regions", {
        "list": ("GET", "/regions"), "show": ("GET", "/regions/{region}"),
        "create": ("POST", "/regions", {"region": {"id": "rbac-{S}-{actor}"}}),
        "update": ("PATCH", "/regions/{region}", {"region": {"description": "x"}}),
        "delete": ("DELETE", "/regions/{region}")}, READ_ALL,
        {"list": "identity:list_regions: (anyone)", "show": "identity:get_region: (anyone)",
         **{op: f"identity:{op}_region: {KS_ADMIN}" for op in WRITES}}, ids="regions[].id", cleanup="/regions/{id}",
        made="region.id", target="{region}"),
    R("identity", "services", {
        "list": ("GET", "/services"), "show": ("GET", "/services/{service}"),
        "create": ("POST", "/services", {"service": {"type": "rbac-{S}-{actor}"}}),
        "update": ("PATCH", "/services/{service}", {"service": {"description": "x"}}),
        "delete": ("DELETE", "/services/{service}")}, ADMIN_ONLY,
        {"list": "identity:list_services: admin or system reader",
         "show": "identity:get_service: admin or system reader",
         **{op: f"identity:{op}_service: {KS_ADMIN}" for op in WRITES}}, cleanup="/services/{id}", made="service.id"),
    R("identity", "endpoints", {
        "list": ("GET", "/endpoints"), "show": ("GET", "/endpoints/{endpoint}"),
        "create": ("POST", "/endpoints", {"endpoint": {"service_id": "{service}", "interface": "public",
                                                       "url": "http://rbac.invalid/{actor}"}}),
        "update": ("PATCH", "/endpoints/{endpoint}", {"endpoint": {"url": "http://rbac.invalid/x"}}),
        "delete": ("DELETE", "/endpoints/{endpoint}")}, ADMIN_ONLY,
        {"list": "identity:list_endpoints: admin or system reader",
         "show": "identity:get_endpoint: admin or system reader",
         **{op: f"identity:{op}_endpoint: {KS_ADMIN}" for op in WRITES}},
        cleanup="/endpoints/{id}", made="endpoint.id"),
    # Last: a password change revokes the actor's tokens.
    R("identity", "own-password", {
        "update": ("POST", "/users/{me}/password", {"user": {"original_password": "{mypw}",
                                                             "password": "{newpw}"}})},
      {"update": (OK, OK, OK)},
      {"update": "(no policy: POST /v3/users/{user_id}/password needs the user's own token and password)"},
      last=True),
]


def dig(obj, path):
    """Values at PATH (`a.b`, `a[].b`, `[].name`) in a decoded JSON answer."""
    values = [obj]
    for part in [p for p in path.split(".") if p]:
        nxt = []
        for value in values:
            key, many = (part[:-2], True) if part.endswith("[]") else (part, False)
            value = value.get(key) if key and isinstance(value, dict) else value if not key else None
            if value is None:
                continue
            nxt.extend(value if many and isinstance(value, list) else [] if many else [value])
        values = nxt
    return values


def fill(obj, ctx):
    """OBJ with every `{key}` in its strings replaced from CTX (`{key}` alone keeps the value's type)."""
    if isinstance(obj, str):
        whole = re.fullmatch(r"\{([\w-]+)\}", obj)
        return ctx[whole.group(1)] if whole else obj.format(**ctx)
    if isinstance(obj, dict):
        return {fill(k, ctx): fill(v, ctx) for k, v in obj.items()}
    if isinstance(obj, list):
        return [fill(v, ctx) for v in obj]
    return obj


class Cloud:
    """Requests as the actors (tokens and catalogs); counts them."""

    def __init__(self, data_dir):
        ca = os.path.join(data_dir, "tls", "ca.pem")
        self.verify = ca if os.path.exists(ca) else True
        self.http = requests.Session()
        self.count = 0
        self.actors = {}

    def login(self, actor, name, password, project):
        body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": name, "domain": {"id": "default"}, "password": password}}},
            "scope": {"project": project}}}
        r = self.http.post(os.environ["URL"].rstrip("/") + "/v3/auth/tokens", json=body, verify=self.verify)
        self.count += 1
        r.raise_for_status()
        token = r.json()["token"]
        self.actors[actor] = {
            "token": r.headers["X-Subject-Token"], "user_id": token["user"]["id"], "name": name,
            "project_id": token["project"]["id"], "password": password,
            "endpoints": {s["type"]: e["url"].rstrip("/") for s in token["catalog"] for e in s["endpoints"]
                          if e["interface"] == "public"}}

    def url(self, actor, service, path):
        return path if path.startswith("http") else self.actors[actor]["endpoints"][service] + path

    def call(self, actor, service, method, path, body=None, headers=None):
        """(status, decoded JSON or text, curl line)."""
        url = self.url(actor, service, path)
        hdrs = {"X-Auth-Token": self.actors[actor]["token"], "Accept": "application/json"}
        if service in MICROVERSIONS:
            hdrs["OpenStack-API-Version"] = MICROVERSIONS[service]
        data = None
        if isinstance(body, (dict, list)):
            data = json.dumps(body)
            hdrs["Content-Type"] = "application/json"
        elif isinstance(body, (str, bytes)):
            data = body
        hdrs.update(headers or {})
        r = self.http.request(method, url, data=data, headers=hdrs, verify=self.verify, timeout=60)
        self.count += 1
        try:
            answer = r.json()
        except ValueError:
            answer = r.text
        return r.status_code, answer, curl_line(actor, method, url, hdrs, data)

    def wait(self, actor, service, path, field, value, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            status, answer, _ = self.call(actor, service, "GET", path)
            got = dig(answer, field) if status == 200 else []
            if got and got[0] == value:
                return
            if got and str(got[0]).lower().startswith("error"):
                break
            time.sleep(0.5)
        raise RuntimeError(f"{path}: {field} is not {value}")


class Matrix:
    """Runs the table: setup, each actor's checks, memberA's deletes, cleanup."""

    def __init__(self, cloud):
        self.cloud = cloud
        self.passed = self.failed = 0
        self.results = []
        self.ctx = {"S": S, "SU": S.upper()}
        self.cleanups = []   # (actor, service, path) of setup results, undone in reverse at the end

    def context(self, actor):
        me = self.cloud.actors[actor]
        n = ACTORS.index(actor) + 1 if actor in ACTORS else 0
        return {**self.ctx, "actor": actor, "n": n, "port": 1000 + n, "me": me["user_id"],
                "mypw": me["password"], "newpw": me["password"] + "-new"}

    def check(self, res, actor, op, retry=False):
        method, path, body, headers = (list(res["ops"][op]) + [None, None])[:4]
        ctx = self.context(actor)
        if op == "create" and res["wait"]:
            self.cloud.wait(MEMBER, res["service"], fill(res["wait"][0], ctx), *res["wait"][1:])
        args = (actor, res["service"], method, fill(path, ctx), fill(body, ctx), fill(headers, ctx))
        status, answer, curl = self.cloud.call(*args)
        deadline = time.time() + 60
        while retry and status in (400, 409) and time.time() < deadline:
            time.sleep(1)
            status, answer, curl = self.cloud.call(*args)
        expected = res["expect"][op][ACTORS.index(actor)]
        ok, seen = self.judge(res, expected, status, answer)
        self.record(res, actor, op, expected, status, answer, curl, ok, seen)
        if op.startswith("create") and 200 <= status < 300:
            self.undo_create(res, actor, answer)
        if op == "delete" and actor != MEMBER and 200 <= status < 300 and not ok:
            print(f"    ({actor} deleted memberA's {res['name']}: made again for the next checks)")
            self.setup(res)

    def judge(self, res, expected, status, answer):
        if expected in (SEE, HIDE, NOLEAK):
            seen = fill(res["target"], self.ctx) in dig(answer, res["ids"]) if status == 200 else None
            if expected == NOLEAK and status in (400, 403):
                return True, None
            return status == 200 and seen == (expected == SEE), seen
        if expected == OK:
            return 200 <= status < 300, None
        if isinstance(expected, frozenset):
            return status in expected, None
        return status == expected, None

    def record(self, res, actor, op, expected, status, answer, curl, ok, seen):
        name = f"{res['service']}/{res['name']} {actor} {op}"
        want = "|".join(map(str, sorted(expected))) if isinstance(expected, frozenset) else str(expected)
        got = f"{status}" + ("" if seen is None else " (listed)" if seen else " (not listed)")
        kind = None if ok else classify(actor, op, expected, status, seen)
        if kind == "CROSS-PROJECT LEAK" and op in res["leak"] and res["leak"][op] not in json.dumps(answer):
            kind = "STATUS DIFFERS (answers for the caller's own project: no data leak)"
        rule = res["rules"].get(op, "")
        self.results.append({"service": res["service"], "resource": res["name"], "actor": actor, "op": op,
                             "expected": want, "got": got, "ok": ok, "kind": kind, "rule": rule,
                             "curl": curl, "body": excerpt(answer)})
        if ok:
            self.passed += 1
            print(f"PASS {name}: {got}")
            return
        self.failed += 1
        print(f"FAIL {name}: expected {want}, got {got} [{kind}]")
        print(f"    upstream: {rule}")
        print(f"    $ {curl}")
        print(f"    | {excerpt(answer)}")

    def undo_create(self, res, actor, answer):
        """Deletes what a successful create made, so the next checks start from the same state."""
        if not res["cleanup"]:
            return
        ids = dig(answer, res["made"]) if "{id}" in res["cleanup"] else [None]
        if not ids:
            print(f"    (could not tell what {actor} made: {excerpt(answer)})")
            return
        self.remove(actor, res["service"], fill(res["cleanup"], {**self.context(actor), "id": ids[0]}))

    def remove(self, actor, service, path, timeout=60):
        """Deletes PATH as ACTOR (as admin if ACTOR may not), retrying while it is busy."""
        deadline = time.time() + timeout
        while True:
            status, answer, _ = self.cloud.call(actor, service, "DELETE", path)
            if status in (401, 403) and actor != "admin":
                actor = "admin"
                continue
            if status < 300 or status == 404 or time.time() > deadline:
                break
            time.sleep(1)
        if status >= 300 and status != 404:
            print(f"    (cleanup: DELETE {path} as {actor}: {status} {excerpt(answer)})")

    def setup(self, res):
        for step in res["setup"]:
            actor, method, path, body, key = step[:5]
            ctx = self.context(actor)
            status, answer, curl = self.cloud.call(actor, res["service"], method, fill(path, ctx), fill(body, ctx))
            if status >= 300:
                raise RuntimeError(f"{status} {excerpt(answer)} ($ {curl})")
            if key:
                name, where = key.split("==")
                self.ctx[name] = dig(answer, where)[0]
                res["made"] = res["made"] or where
                res["target"] = res["target"] or "{" + name + "}"
                self.cleanups.append((actor, res["service"], self.delete_path(res, name)))
            if len(step) > 5:
                self.cloud.wait(actor, res["service"], fill(step[5][0], self.context(actor)), *step[5][1:])

    def delete_path(self, res, name):
        delete = res["ops"].get("delete", (None, ""))[1]
        if name in res["helpers"]:
            path = res["helpers"][name]
        elif delete.endswith("{" + name + "}"):
            path = delete
        else:
            path = res["cleanup"].replace("{id}", "{" + name + "}")
        return fill(path, self.context(MEMBER))

    def run(self):
        done = []
        for res in [r for r in RESOURCES if not r["last"]]:
            if self.run_resource(res):
                done.append(res)
        for res in reversed(done):
            if "delete" in res["ops"]:
                self.check(res, MEMBER, "delete", retry=res["retry"])
        for res in [r for r in RESOURCES if r["last"]]:
            self.run_resource(res)

    def run_resource(self, res):
        try:
            self.setup(res)
        except (RuntimeError, requests.RequestException, KeyError, IndexError) as error:
            self.failed += 1
            print(f"FAIL {res['service']}/{res['name']} setup: {error}")
            return False
        for op in res["ops"]:
            for actor in ACTORS:
                if not (op == "delete" and actor == MEMBER):
                    self.check(res, actor, op)
        return True


def curl_line(actor, method, url, headers, data):
    parts = [f"curl -s -X {method}", f'-H "X-Auth-Token: $TOKEN_{actor}"']
    parts += [f"-H '{k}: {v}'" for k, v in headers.items() if k not in ("X-Auth-Token", "Accept")]
    if data:
        parts.append("-d '" + data.replace("'", "'\\''") + "'")
    return " ".join(parts + [f"'{url}'"])


def classify(actor, op, expected, status, seen):
    denied_expected = expected in (403, 404, HIDE, NOLEAK) or isinstance(expected, frozenset)
    if denied_expected and (200 <= status < 300) and seen is not False:
        if actor == OTHER:
            return "CROSS-PROJECT LEAK"
        if actor == READER and op in WRITES:
            return "READER ALLOWED TO WRITE"
        return "ALLOWED, SHOULD BE DENIED"
    if expected in (OK, SEE) and status in (401, 403, 404):
        return "WRONGLY DENIED"
    if expected in (403, 404) and status in (403, 404):
        return "STATUS DIFFERS (403 vs 404)"
    return "STATUS DIFFERS"


def excerpt(answer):
    text = answer if isinstance(answer, str) else json.dumps(answer)
    return " ".join(text.split())[:240]


def admin_setup(cloud, matrix):
    """Projects A-D, the three users, the admin-made targets; returns what to delete."""
    cloud.login("admin", "admin", os.environ["ADMIN_PASSWORD"], {"name": "admin", "domain": {"id": "default"}})
    ctx, made = matrix.ctx, []

    def call(svc, method, path, body=None):
        return cloud.call("admin", svc, method, path, body)

    def make(svc, path, body, where, delete=None):
        status, answer, _ = call(svc, "POST", path, body)
        if status >= 300:
            raise RuntimeError(f"admin setup {path}: {status} {excerpt(answer)}")
        value = dig(answer, where)[0]
        made.append(("admin", svc, (delete or path + "/{}").format(value)))
        return value

    for p in "ABCD":
        ctx[p] = make("identity", "/projects", {"project": {"name": f"rbac-{S}-{p}", "domain_id": "default"}},
                      "project.id")
    roles = {r["name"]: r["id"] for r in call("identity", "GET", "/roles")[1]["roles"]}
    ctx["role_member"] = roles["member"]
    for user, role, project in ((MEMBER, "member", "A"), (READER, "reader", "A"), (OTHER, "member", "B")):
        password = secrets.token_urlsafe(12)
        uid = make("identity", "/users", {"user": {"name": f"rbac-{S}-{user}", "password": password,
                                                   "domain_id": "default"}}, "user.id")
        ctx[f"uid_{user}"] = uid
        status, answer, _ = call("identity", "PUT", f"/projects/{ctx[project]}/users/{uid}/roles/{roles[role]}")
        if status >= 300:
            raise RuntimeError(f"role assignment: {status} {excerpt(answer)}")
        cloud.login(user, f"rbac-{S}-{user}", password, {"id": ctx[project]})
    ctx["account"] = cloud.actors[MEMBER]["endpoints"]["object-store"]
    spare = [("spare_user", "/users", {"user": {"name": f"rbac-{S}-spare", "domain_id": "default"}}, "user.id"),
             ("spare_role", "/roles", {"role": {"name": f"rbac-{S}-spare"}}, "role.id"),
             ("spare_group", "/groups", {"group": {"name": f"rbac-{S}-spare"}}, "group.id"),
             ("region", "/regions", {"region": {"id": f"rbac-{S}"}}, "region.id"),
             ("service", "/services", {"service": {"type": f"rbac-{S}", "name": f"rbac-{S}"}}, "service.id"),
             ("spare_domain", "/domains", {"domain": {"name": f"rbac-{S}-spare", "enabled": False}}, "domain.id")]
    for key, path, body, where in spare:
        ctx[key] = make("identity", path, body, where)
    ctx["endpoint"] = make("identity", "/endpoints", {"endpoint": {
        "service_id": ctx["service"], "interface": "public", "url": "http://rbac.invalid/"}}, "endpoint.id")
    ctx["flavor"] = make("compute", "/flavors", {"flavor": {"name": f"rbac-{S}", "ram": 64, "vcpus": 1,
                                                            "disk": 0}}, "flavor.id")
    flavors = call("compute", "GET", "/flavors/detail")[1]["flavors"]
    ctx["flavor_nano"] = min(flavors, key=lambda f: (f["name"] != "m1.nano", f["ram"]))["id"]
    ctx["vtype"] = make("volumev3", "/types", {"volume_type": {"name": f"rbac-{S}"}}, "volume_type.id")
    ctx["rp"] = make("placement", "/resource_providers", {"name": f"rbac-{S}"}, "uuid")
    ctx["trait"] = f"CUSTOM_RBAC_{S.upper()}"
    call("placement", "PUT", f"/traits/{ctx['trait']}")
    made.append(("admin", "placement", f"/traits/{ctx['trait']}"))
    call("compute", "PUT", f"/os-quota-sets/{ctx['A']}", {"quota_set": {"instances": 17}})   # A's marker
    ctx["public"] = call("network", "GET", "/v2.0/networks?name=public")[1]["networks"][0]["id"]
    ctx["image"] = upload_image(cloud, made)
    return made


def upload_image(cloud, made):
    """A public 1 MiB raw image for servers to boot from."""
    status, answer, _ = cloud.call("admin", "image", "POST", "/v2/images", {
        "name": f"rbac-{S}-boot", "disk_format": "raw", "container_format": "bare", "visibility": "public"})
    if status >= 300:
        raise RuntimeError(f"image create: {status} {excerpt(answer)}")
    image = answer["id"]
    made.append(("admin", "image", f"/v2/images/{image}"))
    url = cloud.url("admin", "image", f"/v2/images/{image}/file")
    r = cloud.http.put(url, data=b"\0" * (1 << 20), verify=cloud.verify, headers={
        "X-Auth-Token": cloud.actors["admin"]["token"], "Content-Type": "application/octet-stream"})
    cloud.count += 1
    if r.status_code >= 300:
        raise RuntimeError(f"image upload: {r.status_code} {r.text[:200]}")
    cloud.wait("admin", "image", f"/v2/images/{image}", "status", "active")
    return image


def owner_helpers(cloud, matrix):
    """What memberA's resources need: a network for its server, volumes for transfers."""
    ctx, made = matrix.ctx, []

    def make(svc, path, body, where, delete):
        status, answer, _ = cloud.call(MEMBER, svc, "POST", path, body)
        if status >= 300:
            raise RuntimeError(f"memberA's {path}: {status} {excerpt(answer)}")
        value = dig(answer, where)[0]
        made.append((MEMBER, svc, delete.format(value)))
        return value

    ctx["srvnet"] = make("network", "/v2.0/networks", {"network": {"name": f"rbac-{S}-srv"}}, "network.id",
                         "/v2.0/networks/{}")
    make("network", "/v2.0/subnets", {"subnet": {"network_id": ctx["srvnet"], "cidr": "10.8.0.0/24",
                                                 "ip_version": 4}}, "subnet.id", "/v2.0/subnets/{}")
    for key in ("vol2", "vol3"):
        ctx[key] = make("volumev3", "/volumes", {"volume": {"size": 1, "name": f"rbac-{S}-{key}"}}, "volume.id",
                        "/volumes/{}")
        cloud.wait(MEMBER, "volumev3", f"/volumes/{ctx[key]}", "volume.status", "available")
    return made


def main():
    data_dir = sys.argv[1]
    cloud = Cloud(data_dir)
    matrix = Matrix(cloud)
    started = time.time()
    made = []
    try:
        made += admin_setup(cloud, matrix)
        made += owner_helpers(cloud, matrix)
        matrix.run()
    except (RuntimeError, requests.RequestException, KeyError, IndexError) as error:
        matrix.failed += 1
        print(f"FAIL setup: {error!r}")
    finally:
        cleanup(cloud, matrix, made)
    summarize(matrix, cloud, data_dir, time.time() - started)
    print(f"e2e: {matrix.passed} passed, {matrix.failed} failed")
    return 1 if matrix.failed else 0


def cleanup(cloud, matrix, made):
    """Deletes everything made, as its maker (logged in again: the password checks revoked the tokens)."""
    if "admin" not in cloud.actors:
        return
    changed = {r["actor"] for r in matrix.results if r["resource"] == "own-password" and r["got"][0] == "2"}
    for actor in ACTORS:
        if actor in cloud.actors:
            me = cloud.actors[actor]
            password = me["password"] + "-new" if actor in changed else me["password"]
            try:
                cloud.login(actor, me["name"], password, {"id": me["project_id"]})
            except requests.RequestException:
                cloud.actors[actor]["token"] = cloud.actors["admin"]["token"]
    leftovers = matrix.cleanups + made   # setup results first, then helpers, then projects and users
    for actor, service, path in reversed(leftovers):
        if "/domains/" in path:
            cloud.call("admin", service, "PATCH", path, {"domain": {"enabled": False}})
        matrix.remove(actor, service, path)


def summarize(matrix, cloud, data_dir, took):
    checks = len(matrix.results)
    resources = sorted({(r["service"], r["resource"]) for r in matrix.results})
    kinds = {}
    for r in matrix.results:
        if not r["ok"]:
            kinds[r["kind"]] = kinds.get(r["kind"], 0) + 1
    with open(os.path.join(data_dir, "rbac-results.json"), "w") as out:
        json.dump({"suffix": S, "seconds": round(took, 1), "requests": cloud.count, "checks": checks,
                   "resources": len(resources), "actors": list(ACTORS), "results": matrix.results}, out, indent=1)
    print(f"rbac: {len(resources)} resources, {len(ACTORS)} actors, {checks} checks, {cloud.count} requests, "
          f"{took:.0f}s; failures by kind: {json.dumps(kinds)}")


if __name__ == "__main__":
    sys.exit(main())
