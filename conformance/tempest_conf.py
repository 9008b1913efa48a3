#!/usr/bin/env python3
"""Write a tempest.conf (tempest 47) for a running Stratus.

    conformance/tempest_conf.py --uri http://127.0.0.1:5000/v3 \
        --admin-password PW --workdir DIR [--services nova,glance] \
        [--set identity-feature-enabled.trust=true ...]

The admin password may instead come from STRATUS_ADMIN_PASSWORD. Extra
settings also come from TEMPEST_CONF_SET (space-separated section.key=value)
and the available services from TEMPEST_SERVICES (comma-separated).
Defaults say what Stratus has today; change them here as features land.
"""
import argparse
import configparser
import json
import os
import sys
import urllib.request

# [service_available] options tempest itself knows (plugins add more).
SERVICES = ("nova", "glance", "neutron", "cinder", "swift", "horizon")

# [identity-feature-enabled]: what Stratus's Identity service supports.
# (tempest 47 dropped the old application_credentials/project_tags flags:
# those tests always run.)
IDENTITY_FEATURES = {
    "api_v2": "false",
    "api_v3": "true",
    "api_extensions": "all",
    "access_rules": "true",
    "trust": "true",
    # scripts/test.sh starts the server with the matching [security_compliance]
    # settings (SECURITY_COMPLIANCE below).
    "security_compliance": "true",
    "domain_specific_drivers": "false",
    "immutable_user_source": "false",
}


# Keystone [security_compliance] values the test server runs with, as tempest's
# [identity] options; scripts/test.sh passes the same numbers to `stratus serve`.
SECURITY_COMPLIANCE = {
    "user_lockout_failure_attempts": os.environ.get("STRATUS_SECURITY_COMPLIANCE_LOCKOUT_FAILURE_ATTEMPTS", "3"),
    "user_lockout_duration": os.environ.get("STRATUS_SECURITY_COMPLIANCE_LOCKOUT_DURATION", "5"),
    "user_unique_last_password_count": os.environ.get("STRATUS_SECURITY_COMPLIANCE_UNIQUE_LAST_PASSWORD_COUNT", "2"),
    "user_minimum_password_age": "0",
}


# [image-feature-enabled]: what Stratus's Image service supports.
IMAGE_FEATURES = {
    "api_v2": "true",
    "import_image": "true",
    "os_glance_reserved": "true",
    # The test cloud allows data that differs from its disk_format (scripts/test.sh), so that
    # the tests that upload random bytes as qcow2 or vhd run; unsafe images are refused.
    "image_format_enforcement": "false",
    # true only when the server shows locations (show_multiple_locations; scripts/test.sh)
    "manage_locations": "false",
    "http_store_enabled": "false",
    "do_secure_hash": "true",
    # true only when the server runs with store weights (scripts/test.sh sets both)
    "store_weight_enabled": "false",
}


# [network] values for the test server's DevStack-like topology (the id of `public`
# and the extension list are read from the running server).
NETWORK = {
    "project_network_cidr": "10.100.0.0/16",
    "project_network_mask_bits": "28",
    "project_network_v6_cidr": "2001:db8::/48",
    "project_network_v6_mask_bits": "64",
    "project_networks_reachable": "false",
    "floating_network_name": "public",
    "build_timeout": "60",
    "build_interval": "1",
}

NETWORK_FEATURES = {
    "ipv6": "true",
    "ipv6_subnet_attributes": "true",
    "port_admin_state_change": "true",
    "port_security": "true",
}


# [compute]/[compute-feature-enabled]: what Stratus's Compute (fake driver) supports.
COMPUTE = {
    "flavor_ref": "42",
    "flavor_ref_alt": "84",
    "build_timeout": "60",
    "build_interval": "1",
    "max_microversion": "2.85",
    "min_compute_nodes": "2",
    "fixed_network_name": "tempest-shared",
}

COMPUTE_FEATURES = {
    "resize": "true", "cold_migration": "true", "live_migration": "true", "console_output": "true",
    "pause": "true", "suspend": "true", "shelve": "true", "snapshot": "true", "rescue": "true",
    "change_password": "true", "interface_attach": "true", "vnc_console": "false", "spice_console": "false",
    "serial_console": "false", "rdp_console": "false", "config_drive": "false", "metadata_service": "false",
    "personality": "true", "attach_encrypted_volume": "true", "volume_multiattach": "true",
    "block_migration_for_live_migration": "true",
    "preserve_ports": "false", "disk_config": "true", "hostname_fqdn_sanitization": "false",
    "scheduler_enabled_filters": "AvailabilityZoneFilter,ComputeFilter,ComputeCapabilitiesFilter,ImagePropertiesFilter,"
                                 "ServerGroupAntiAffinityFilter,ServerGroupAffinityFilter,SameHostFilter,DifferentHostFilter,JsonFilter",
}


# [volume]/[volume-feature-enabled]: what Stratus's Block Storage (file backend) supports.
VOLUME = {
    "catalog_type": "block-storage",
    "build_interval": "1",
    "build_timeout": "60",
    "disk_format": "raw,qcow2",
    "backend_names": "file",
    "storage_protocol": "local",
    "vendor_name": "Open Source",
    "min_microversion": "3.0",
    "max_microversion": "3.71",
    "backup_driver": "posix",
    # the file driver's names for its data (volume-<id>, snapshot-<id>)
    "manage_volume_ref": "source-name,volume-%s",
    "manage_snapshot_ref": "source-name,snapshot-%s",
}

VOLUME_FEATURES = {
    "enable_volume_image_dep_tests": "true",
    "snapshot": "true",
    "clone": "true",
    "backup": "true",
    "api_extensions": "all",
    "multi_backend": "false",
    "manage_volume": "true",
    "manage_snapshot": "true",
    "extend_attached_volume": "true",
    "extend_attached_encrypted_volume": "true",
    "extend_volume_with_snapshot": "true",
    "volume_revert": "true",
}


def _request(url, token=None, body=None, method=None, raw=None, content_type="application/json"):
    headers = {"Content-Type": content_type}
    if token:
        headers["X-Auth-Token"] = token
    data = raw if raw is not None else (json.dumps(body).encode() if body else None)
    req = urllib.request.Request(url, data=data, headers=headers, method=method)
    with urllib.request.urlopen(req, timeout=30) as resp:
        text = resp.read()
        return resp.headers.get("X-Subject-Token"), json.loads(text) if text else {}


def _admin(uri, admin_password):
    """(token, {service type: public URL}) of the admin project."""
    auth = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": "admin", "domain": {"id": "default"}, "password": admin_password}}},
        "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}}
    token, body = _request(uri.rstrip("/") + "/auth/tokens", body=auth)
    urls = {s["type"]: e["url"].rstrip("/") for s in body["token"]["catalog"]
            for e in s["endpoints"] if e["interface"] == "public"}
    return token, urls


def compute_facts(uri, admin_password):
    """Two public images and a shared network for servers, made once: (image, image_alt)."""
    token, urls = _admin(uri, admin_password)
    ids = []
    for name in ("tempest-image", "tempest-image-alt"):
        _, found = _request(urls["image"] + "/v2/images?name=" + name, token)
        if found["images"]:
            ids.append(found["images"][0]["id"])
            continue
        _, image = _request(urls["image"] + "/v2/images", token, body={
            "name": name, "disk_format": "raw", "container_format": "bare", "visibility": "public"})
        _request(urls["image"] + f"/v2/images/{image['id']}/file", token, raw=b"\0" * 4096,
                 method="PUT", content_type="application/octet-stream")
        ids.append(image["id"])
    _, nets = _request(urls["network"] + "/v2.0/networks?name=" + COMPUTE["fixed_network_name"], token)
    if not nets["networks"]:
        _, net = _request(urls["network"] + "/v2.0/networks", token, body={
            "network": {"name": COMPUTE["fixed_network_name"], "shared": True}})
        _, subnet = _request(urls["network"] + "/v2.0/subnets", token, body={"subnet": {
            "network_id": net["network"]["id"], "cidr": "192.168.224.0/20", "ip_version": 4}})
        # A router to the public network, so servers there can have floating IPs.
        _, public = _request(urls["network"] + "/v2.0/networks?name=public&router:external=true", token)
        if public["networks"]:
            _, router = _request(urls["network"] + "/v2.0/routers", token, body={"router": {
                "name": "tempest-router", "external_gateway_info": {"network_id": public["networks"][0]["id"]}}})
            _request(urls["network"] + f"/v2.0/routers/{router['router']['id']}/add_router_interface", token,
                     body={"subnet_id": subnet["subnet"]["id"]}, method="PUT")
    return ids


def volume_facts(uri, admin_password):
    """DevStack's multiattach volume type, made once: its name."""
    token, urls = _admin(uri, admin_password)
    api = urls.get("block-storage") or urls["volumev3"]
    _, types = _request(api + "/types?is_public=None", token)
    if not any(t["name"] == "multiattach" for t in types["volume_types"]):
        _request(api + "/types", token, body={"volume_type": {
            "name": "multiattach", "extra_specs": {"multiattach": "<is> True"}}})
    return "multiattach"


def network_facts(uri, admin_password):
    """(public network id, extension aliases) from the running network service."""
    auth = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": "admin", "domain": {"id": "default"}, "password": admin_password}}},
        "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}}
    token, body = _request(uri.rstrip("/") + "/auth/tokens", body=auth)
    url = next(e["url"] for s in body["token"]["catalog"] if s["type"] == "network"
               for e in s["endpoints"] if e["interface"] == "public").rstrip("/")
    _, nets = _request(url + "/v2.0/networks?name=public&router:external=true", token)
    _, exts = _request(url + "/v2.0/extensions", token)
    return nets["networks"][0]["id"], sorted(e["alias"] for e in exts["extensions"])


# What /info lists: tempest runs the tests of these middlewares and skips the others.
OBJECT_STORAGE_FEATURES = {
    "discoverable_apis": "account_quotas,container_quotas,slo,tempurl,crossdomain,healthcheck,versioned_writes,"
                         "bulk_delete,bulk_upload,formpost,staticweb,symlink",
    "container_sync": "false",
    "object_versioning": "true",
}


def build(uri, admin_password, workdir, services, overrides):
    conf = configparser.ConfigParser(interpolation=None)
    conf.optionxform = str
    conf.read_dict({
        "DEFAULT": {
            "log_dir": workdir,
            "log_file": "tempest.log",
            "debug": "true",
        },
        "oslo_concurrency": {"lock_path": os.path.join(workdir, "lock")},
        "auth": {
            "use_dynamic_credentials": "true",
            "create_isolated_networks": "false",
            "admin_username": "admin",
            "admin_password": admin_password,
            "admin_project_name": "admin",
            "admin_domain_name": "Default",
            "default_credentials_domain_name": "Default",
        },
        "identity": {
            "uri_v3": uri,
            "auth_version": "v3",
            "region": "RegionOne",
            "v3_endpoint_type": "public",
            "default_domain_id": "default",
            **SECURITY_COMPLIANCE,
            "admin_domain_scope": "false",
            "use_system_token": "false",
            # A cloud on TLS with a CA of its own (`stratus serve --tls`; scripts/lib/serve.sh exports it).
            "ca_certificates_file": os.environ.get("OS_CACERT", ""),
        },
        "identity-feature-enabled": IDENTITY_FEATURES,
        "service_available": {s: str(s in services).lower() for s in SERVICES},
        "enforce_scope": {"keystone": "false", "glance": "false", "neutron": "false", "nova": "false", "placement": "false",
                          "cinder": "false"},
        "image-feature-enabled": IMAGE_FEATURES,
        "image": {
            "container_formats": "bare,ami,ari,aki,ovf,ova",
            "disk_formats": "qcow2,raw,ami,ari,aki,vhd,vmdk,vdi,iso,vhdx",
            "build_interval": "1",
            "build_timeout": "60",
            "image_caching_enabled": "true",
        },
        "volume": VOLUME,
        "volume-feature-enabled": VOLUME_FEATURES,
        "service-clients": {"http_timeout": "30"},
        "network": NETWORK,
        "network-feature-enabled": NETWORK_FEATURES,
        "validation": {"run_validation": "false"},
        "compute": COMPUTE,
        "compute-feature-enabled": COMPUTE_FEATURES,
        "object-storage": {"operator_role": "member", "reseller_admin_role": "ResellerAdmin"},
        "object-storage-feature-enabled": OBJECT_STORAGE_FEATURES,
    })
    if "nova" in services:
        image, image_alt = compute_facts(uri, admin_password)
        conf.set("compute", "image_ref", image)
        conf.set("compute", "image_ref_alt", image_alt)
    if "cinder" in services:
        conf.set("volume", "volume_type_multiattach", volume_facts(uri, admin_password))
    if "neutron" in services:
        public, aliases = network_facts(uri, admin_password)
        conf.set("network", "public_network_id", public)
        conf.set("network-feature-enabled", "api_extensions", ",".join(aliases))
    for item in overrides:
        key, sep, value = item.partition("=")
        section, dot, option = key.rpartition(".")
        if not (sep and dot):
            sys.exit(f"tempest_conf: bad setting {item!r} (want section.key=value)")
        if not conf.has_section(section) and section != "DEFAULT":
            conf.add_section(section)
        conf.set(section, option, value)
    return conf


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--uri", required=True, help="Identity v3 URL, ending in /v3")
    p.add_argument("--admin-password", default=os.environ.get("STRATUS_ADMIN_PASSWORD"))
    p.add_argument("--workdir", required=True, help="for logs and locks")
    p.add_argument("--services", default=os.environ.get("TEMPEST_SERVICES", ""),
                   help="comma-separated available services: " + ",".join(SERVICES))
    p.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE")
    p.add_argument("-o", "--output", default="-", help="file to write (default stdout)")
    a = p.parse_args()
    if not a.admin_password:
        sys.exit("tempest_conf: need --admin-password or STRATUS_ADMIN_PASSWORD")
    services = {s for s in a.services.split(",") if s}
    overrides = os.environ.get("TEMPEST_CONF_SET", "").split() + a.set
    conf = build(a.uri, a.admin_password, os.path.abspath(a.workdir), services, overrides)
    if a.output == "-":
        conf.write(sys.stdout)
    else:
        with open(a.output, "w") as f:
            conf.write(f)


if __name__ == "__main__":
    main()
