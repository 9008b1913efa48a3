"""Stratus through openstacksdk's cloud layer (run by scripts/clients/sdk.sh).

Builds a network, subnet, router, security group, key pair, image and a server with
a floating IP (auto_ip, wait) with the Connection's cloud-layer calls, checks them
with the search_*/get_* calls, then deletes everything; then a new project's member
(made with create_project/create_user/grant_role) does the same in its project. One PASS/FAIL line per call;
the last line is `clients-sdk: N passed, N failed`.

    python sdk_cloud.py SUFFIX IMAGE_FILE [SERVER_TIMEOUT]

Needs OS_CLIENT_CONFIG_FILE pointing at a clouds.yaml with cloud `stratus`. With
SDK_LOG set, the SDK's HTTP debug log goes to that file.
"""
import os
import sys
import traceback

import openstack

SFX, IMAGE_FILE = sys.argv[1], sys.argv[2]
TIMEOUT = int(sys.argv[3]) if len(sys.argv) > 3 else 120
CIDR, GATEWAY = "10.252.31.0/24", "10.252.31.1"
PASSED = FAILED = 0


def check(name, fn, *preds):
    """Calls fn(); passes if it does not raise and every (desc, pred(result)) holds."""
    global PASSED, FAILED
    try:
        result = fn()
    except Exception as exc:  # noqa: BLE001 - every failure is a FAIL line
        FAILED += 1
        print(f"FAIL {name}: {type(exc).__name__}: {exc}")
        print("    | " + traceback.format_exc().strip().splitlines()[-1][:300])
        return None
    bad = []
    for desc, pred in preds:
        try:
            if not pred(result):
                bad.append(desc)
        except Exception as exc:  # noqa: BLE001
            bad.append(f"{desc} ({type(exc).__name__}: {exc})")
    if bad:
        FAILED += 1
        print(f"FAIL {name}: expected {'; '.join(bad)}")
        print(f"    | got: {str(result)[:600]}")
    else:
        PASSED += 1
        print(f"PASS {name}")
    return result


def one(desc="exactly one match"):
    return (desc, lambda r: len(r) == 1)


def none(desc="no match"):
    return (desc, lambda r: len(r) == 0)


def floating(server, kind="floating"):
    return [a["addr"] for addrs in (server.get("addresses") or {}).values() for a in addrs
            if a.get("OS-EXT-IPS:type") == kind]


if os.environ.get("SDK_LOG"):
    openstack.enable_logging(debug=True, http_debug=True, path=os.environ["SDK_LOG"], stream=None)

names = {k: f"sdk-{k}-{SFX}" for k in ("net", "subnet", "router", "sg", "key", "img", "vm")}
conn = check("openstack.connect(cloud='stratus') and authorize", lambda: openstack.connect(cloud="stratus"),
             ("a token", lambda c: c.authorize()))
if conn is None:
    print(f"clients-sdk: {PASSED} passed, {FAILED} failed")
    sys.exit(1)

try:
    # --- lookups of what the cloud comes with ------------------------------------------
    flavor = check("search_flavors('m1.nano')", lambda: conn.search_flavors("m1.nano"), one())
    check("list_flavors has m1.nano", conn.list_flavors,
          ("m1.nano listed", lambda r: "m1.nano" in [f.name for f in r]))
    public = check("get_network('public')", lambda: conn.get_network("public"),
                   ("router:external", lambda n: n.is_router_external))
    check("get_external_ipv4_networks has public", conn.get_external_ipv4_networks,
          ("public listed", lambda r: "public" in [n.name for n in r]))

    # --- build ---------------------------------------------------------------------------
    image = check("create_image (raw, wait)", lambda: conn.create_image(
        names["img"], filename=IMAGE_FILE, disk_format="raw", container_format="bare", wait=True),
        ("status active", lambda i: i.status == "active"),
        ("size 65536", lambda i: i.size == 65536))
    check("search_images(name)", lambda: conn.search_images(names["img"]), one())

    net = check("create_network", lambda: conn.create_network(names["net"]),
                ("status ACTIVE", lambda n: n.status == "ACTIVE"))
    check("search_networks(name)", lambda: conn.search_networks(names["net"]), one())
    subnet = check("create_subnet", lambda: conn.create_subnet(
        names["net"], cidr=CIDR, ip_version=4, subnet_name=names["subnet"], enable_dhcp=True,
        dns_nameservers=["8.8.8.8"]),
        ("gateway " + GATEWAY, lambda s: s.gateway_ip == GATEWAY),
        ("on the network", lambda s: s.network_id == net.id))
    check("search_subnets(name)", lambda: conn.search_subnets(names["subnet"]), one(),
          ("the CIDR", lambda r: r[0].cidr == CIDR))

    router = check("create_router(ext_gateway_net_id=public)", lambda: conn.create_router(
        names["router"], ext_gateway_net_id=public.id),
        ("a gateway on public", lambda r: r.external_gateway_info["network_id"] == public.id),
        ("an external fixed IP", lambda r: len(r.external_gateway_info["external_fixed_ips"]) == 1))
    check("add_router_interface(subnet_id)", lambda: conn.add_router_interface(router, subnet_id=subnet.id),
          ("the subnet", lambda r: r["subnet_id"] == subnet.id))
    check("list_router_interfaces(internal)", lambda: conn.list_router_interfaces(router, "internal"), one(),
          ("the subnet's gateway", lambda r: r[0].fixed_ips[0]["ip_address"] == GATEWAY))
    check("search_routers(name)", lambda: conn.search_routers(names["router"]), one())

    sg = check("create_security_group", lambda: conn.create_security_group(names["sg"], "sdk check"))
    check("create_security_group_rule (tcp 22)", lambda: conn.create_security_group_rule(
        sg.id, port_range_min=22, port_range_max=22, protocol="tcp", remote_ip_prefix="0.0.0.0/0"),
        ("port 22", lambda r: r.port_range_min == 22))
    check("search_security_groups(name)", lambda: conn.search_security_groups(names["sg"]), one(),
          ("the tcp/22 rule", lambda r: any(x.get("port_range_min") == 22 for x in r[0].security_group_rules)))
    check("create_keypair (generated)", lambda: conn.create_keypair(names["key"]),
          ("a private key", lambda k: "PRIVATE KEY" in (k.private_key or "")))
    check("search_keypairs(name)", lambda: conn.search_keypairs(names["key"]), one())

    server = check("create_server(auto_ip=True, wait=True)", lambda: conn.create_server(
        names["vm"], image=names["img"], flavor="m1.nano", network=names["net"], key_name=names["key"],
        security_groups=[names["sg"]], meta={"role": "sdk-check"}, auto_ip=True, wait=True,
        timeout=TIMEOUT),
        ("status ACTIVE", lambda s: s.status == "ACTIVE"),
        ("a floating address", lambda s: len(floating(s)) == 1))

    # --- check ---------------------------------------------------------------------------
    srv = check("get_server(name)", lambda: conn.get_server(names["vm"]),
                ("ACTIVE", lambda s: s.status == "ACTIVE"),
                ("its flavor m1.nano", lambda s: "m1.nano" in (s.flavor.get("original_name"), s.flavor.get("name"))
                 or s.flavor.get("id") == flavor[0].id),
                ("its image", lambda s: s.image.id == image.id),
                ("its key", lambda s: s.key_name == names["key"]))
    check("search_servers(name)", lambda: conn.search_servers(names["vm"]), one())
    check("search_servers(detailed=True)", lambda: conn.search_servers(names["vm"], detailed=True), one(),
          ("a public_v4", lambda r: r[0].public_v4.startswith("172.24.4.")))
    fip = check("get_server_public_ip", lambda: conn.get_server_public_ip(srv),
                ("an address on public", lambda ip: ip is not None and ip.startswith("172.24.4.")))
    fixed = check("get_server_private_ip", lambda: conn.get_server_private_ip(srv),
                  ("an address on the subnet", lambda ip: ip is not None and ip.startswith("10.252.31.")))
    check("addresses list the floating IP (OS-EXT-IPS:type floating)",
          lambda: floating(conn.compute.get_server(srv.id).to_dict()),
          ("the public IP", lambda r: r == [fip]))
    check("search_floating_ips(floating_ip_address)",
          lambda: conn.search_floating_ips(filters={"floating_ip_address": fip}), one(),
          ("bound to the fixed address", lambda r: r[0].fixed_ip_address == fixed),
          ("via the router", lambda r: r[0].router_id == router.id))
    check("get_server_meta", lambda: conn.get_server_meta(srv),
          ("the metadata", lambda m: m["server_vars"]["metadata"]["role"] == "sdk-check"))
    check("get_openstack_vars", lambda: conn.get_openstack_vars(srv),
          ("public_v4", lambda v: v["public_v4"] == fip))

    # --- tear down -----------------------------------------------------------------------
    check("delete_server(wait=True, delete_ips=True)", lambda: conn.delete_server(
        names["vm"], wait=True, delete_ips=True, timeout=60), ("True", lambda r: r is True))
    check("the server is gone", lambda: conn.search_servers(names["vm"]), none())
    check("its floating IP is gone",
          lambda: conn.search_floating_ips(filters={"floating_ip_address": fip or "0.0.0.0"}), none())
finally:
    # Every cleanup step runs (and counts) whether or not the build got this far.
    def gone(search, name):
        return lambda: search(name)

    for what, delete, search in [
        ("server", lambda n: conn.delete_server(n, wait=True, delete_ips=True, timeout=60), conn.search_servers),
        ("key", conn.delete_keypair, conn.search_keypairs),
        ("sg", conn.delete_security_group, conn.search_security_groups),
        ("router", conn.delete_router, conn.search_routers),
        ("subnet", conn.delete_subnet, conn.search_subnets),
        ("net", conn.delete_network, conn.search_networks),
        ("img", lambda n: conn.delete_image(n, wait=True), conn.search_images),
    ]:
        name = names["vm" if what == "server" else what]
        try:
            found = search(name)
        except Exception as exc:  # noqa: BLE001
            check(f"cleanup: search the {what}", lambda: (_ for _ in ()).throw(exc))
            continue
        if what == "server":  # deleted above unless the build stopped early
            if found:
                check("cleanup: delete_server", lambda: delete(name))
            continue
        if found and what == "router":
            subnets = conn.search_subnets(names["subnet"])
            if subnets:
                check("remove_router_interface(subnet_id)",
                      lambda: conn.remove_router_interface(found[0], subnet_id=subnets[0].id))
        if found:
            check(f"delete the {what}", lambda: delete(name), ("True", lambda x: x is True))
        check(f"the {what} is gone", gone(search, name), none())

# --- a member of a new project does the same on its own --------------------------------
M = {k: f"sdk-m{k}-{SFX}" for k in ("project", "user", "net", "subnet", "router", "img", "vm")}
PW = f"sdk-pw-{SFX}-member"
project = check("create_project", lambda: conn.create_project(M["project"], domain_id="default"))
check("create_user(default_project)", lambda: conn.create_user(
    M["user"], password=PW, default_project=project.id, domain_id="default"),
    ("its default project", lambda u: u.default_project_id == project.id))
check("grant_role(member)", lambda: conn.grant_role("member", user=M["user"], project=M["project"]),
      ("True", lambda r: r is True))
check("list_role_assignments shows it", lambda: conn.list_role_assignments(
    filters={"user": conn.get_user(M["user"]).id, "project": project.id}), one())
check("create_image (public, for the member)", lambda: conn.create_image(
    M["img"], filename=IMAGE_FILE, disk_format="raw", container_format="bare", visibility="public", wait=True),
    ("active", lambda i: i.status == "active"))
member = check("openstack.connect as the member", lambda: openstack.connect(auth=dict(
    auth_url=conn.auth["auth_url"], username=M["user"], password=PW, project_name=M["project"],
    user_domain_name="Default", project_domain_name="Default")),
    ("a token", lambda c: c.authorize()))
try:
    if member is not None:
        mnet = check("member: create_network", lambda: member.create_network(M["net"]),
                     ("in its project", lambda n: n.project_id == project.id))
        msub = check("member: create_subnet", lambda: member.create_subnet(
            M["net"], cidr="10.253.7.0/24", subnet_name=M["subnet"]))
        mrtr = check("member: create_router(ext_gateway_net_id=public)", lambda: member.create_router(
            M["router"], ext_gateway_net_id=member.get_network("public").id))
        check("member: add_router_interface", lambda: member.add_router_interface(mrtr, subnet_id=msub.id))
        msrv = check("member: create_server(auto_ip=True, wait=True)", lambda: member.create_server(
            M["vm"], image=M["img"], flavor="m1.nano", network=M["net"], auto_ip=True, wait=True, timeout=TIMEOUT),
            ("ACTIVE", lambda s: s.status == "ACTIVE"), ("a floating address", lambda s: len(floating(s)) == 1))
        check("member: get_server_public_ip", lambda: member.get_server_public_ip(msrv),
              ("an address on public", lambda ip: ip is not None and ip.startswith("172.24.4.")))
        check("member: search_servers sees only its own", lambda: member.search_servers(), one())
        check("member: get_compute_limits counts the server", member.get_compute_limits,
              ("1 instance used", lambda lim: lim.total_instances_used == 1))
        check("member: delete_server(wait=True, delete_ips=True)", lambda: member.delete_server(
            M["vm"], wait=True, delete_ips=True, timeout=60), ("True", lambda r: r is True))
        check("member: no floating IP left", lambda: member.list_floating_ips(), none())
finally:
    def attempt(name, fn):
        try:
            fn()
        except Exception as exc:  # noqa: BLE001
            check(name, lambda: (_ for _ in ()).throw(exc))

    if member is not None:
        if member.search_servers(M["vm"]):
            attempt("member cleanup: delete_server", lambda: member.delete_server(
                M["vm"], wait=True, delete_ips=True, timeout=60))
        r, sn = member.get_router(M["router"]), member.get_subnet(M["subnet"])
        if r is not None and sn is not None:
            check("member: remove_router_interface", lambda: member.remove_router_interface(r, subnet_id=sn.id))
        for what, delete in (("router", member.delete_router), ("subnet", member.delete_subnet),
                             ("net", member.delete_network)):
            check(f"member: delete the {what}", lambda: delete(M[what]), ("True", lambda x: x is True))
    check("delete the member's image", lambda: conn.delete_image(M["img"], wait=True), ("True", lambda x: x is True))
    check("delete_user", lambda: conn.delete_user(M["user"]), ("True", lambda x: x is True))
    check("delete_project", lambda: conn.delete_project(M["project"]), ("True", lambda x: x is True))
    check("the member's network, user and project are gone", lambda: (
        conn.search_networks(M["net"]) + conn.search_users(M["user"]) + conn.search_projects(M["project"])), none())

if FAILED and os.environ.get("SDK_LOG"):
    print(f"(the SDK's HTTP debug log: {os.environ['SDK_LOG']})")
print(f"clients-sdk: {PASSED} passed, {FAILED} failed")
sys.exit(1 if FAILED else 0)
