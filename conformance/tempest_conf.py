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
import os
import sys

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
    # Stratus stores what it is given; it does not reject data that differs from disk_format.
    "image_format_enforcement": "false",
    # true only when the server shows locations (show_multiple_locations; scripts/test.sh)
    "manage_locations": "false",
    "http_store_enabled": "false",
    "do_secure_hash": "true",
    # true only when the server runs with store weights (scripts/test.sh sets both)
    "store_weight_enabled": "false",
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
        },
        "identity-feature-enabled": IDENTITY_FEATURES,
        "service_available": {s: str(s in services).lower() for s in SERVICES},
        "enforce_scope": {"keystone": "false", "glance": "false"},
        "image-feature-enabled": IMAGE_FEATURES,
        "image": {
            "container_formats": "bare,ami,ari,aki,ovf,ova",
            "disk_formats": "qcow2,raw,ami,ari,aki,vhd,vmdk,vdi,iso,vhdx",
            "build_interval": "1",
            "build_timeout": "60",
            "image_caching_enabled": "true",
        },
        "volume-feature-enabled": {"enable_volume_image_dep_tests": "false"},
        "service-clients": {"http_timeout": "30"},
        "validation": {"run_validation": "false"},
    })
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
