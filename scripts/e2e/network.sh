#!/usr/bin/env bash
# End-to-end checks of Stratus's Network API (Neutron v2.0) with python-openstackclient:
# the network commands of the seed documents, against `stratus serve`'s bootstrap topology.
#
#   scripts/e2e/network.sh DATA_DIR
#
# Same conventions as identity.sh. The last line is `e2e: N passed, N failed`.
set -uo pipefail

DATA=${1:?usage: network.sh DATA_DIR}
# shellcheck source=../lib/e2e.sh
source "$(dirname "$0")/../lib/e2e.sh"

check -m '^http' "network endpoint in the catalog" os endpoint list --service network --interface public -f value -c URL
API_BASE=$(head -1 <<<"$OUT")
check -m '"token"|id=' "admin token" os token issue -f shell -c id
H=(-H "X-Auth-Token: $(val id)")

# --- the bootstrap topology --------------------------------------------------
check -m '^public$' -m '^private$' "bootstrap networks public and private" os network list -f value -c Name
check -m '^router_external="True"' "public is external" os network show public -f shell -c 'router:external'
check -m '^router1$' "bootstrap router1" os router list -f value -c Name
check -m 'network_id' "router1's gateway is on public" os router show router1 -f shell -c external_gateway_info
check -m 'DHCP agent' -m 'L3 agent' -m 'Linux bridge agent' -m ':-\)' "network agent list" os network agent list

# --- networks and subnets ----------------------------------------------------
check -m '^shared="True"' "network create --share" os network create --share "e2e-shared-$S" -f shell -c shared
check -m '^router_external="True"' "network create --external (admin)" \
  os network create --external --provider-network-type flat --provider-physical-network "ext$S" "e2e-ext-$S" -f shell -c 'router:external'
check -m '^provider_network_type="vlan"' -m '^provider_segmentation_id="3'"${S: -2}"'"' "network create --provider-* vlan" \
  os network create --provider-network-type vlan --provider-physical-network physnet1 --provider-segment "3${S: -2}" "e2e-vlan-$S" \
  -f shell -c 'provider:network_type' -c 'provider:segmentation_id'
check -m '^provider_network_type="vxlan"' -m '^mtu="1450"' "project network gets a VXLAN id and MTU 1450" \
  os network create "e2e-net-$S" -f shell -c 'provider:network_type' -c mtu
NET=e2e-net-$S
check -m "'end': '10.77.0.99', 'start': '10.77.0.10'" -m '^gateway_ip="10.77.0.254"' -m '^enable_dhcp="False"' \
  -m "dns_nameservers=\"\['8.8.8.8'\]" -m "'destination': '192.168.0.0/24'" "subnet create with pool, gateway, DNS, no DHCP, host route" \
  os subnet create --network "$NET" --subnet-range 10.77.0.0/24 --allocation-pool start=10.77.0.10,end=10.77.0.99 \
  --gateway 10.77.0.254 --dns-nameserver 8.8.8.8 --no-dhcp --host-route destination=192.168.0.0/24,gateway=10.77.0.5 \
  "e2e-sub-$S" -f shell
check -m '^ipv6_address_mode="slaac"' -m '^ipv6_ra_mode="slaac"' "IPv6 subnet with SLAAC modes" \
  os subnet create --network "$NET" --ip-version 6 --subnet-range "fd00:$((S % 9000 + 1000))::/64" --ipv6-ra-mode slaac \
  --ipv6-address-mode slaac "e2e-sub6-$S" -f shell -c ipv6_address_mode -c ipv6_ra_mode
check -x -m 'overlaps' "overlapping subnet refused" os subnet create --network "$NET" --subnet-range 10.77.0.128/25 "e2e-overlap-$S"

# --- ports -------------------------------------------------------------------
check -m "'ip_address': '10.77.0.50'" -m "fd00" -m '^mac_address="fa:16:3e:' "port create --fixed-ip (and its SLAAC address)" \
  os port create --network "$NET" --fixed-ip "subnet=e2e-sub-$S,ip-address=10.77.0.50" "e2e-port-$S" -f shell
check -x -m 'already allocated|IpAddressAlreadyAllocated|in use' "the same fixed IP again is refused" \
  os port create --network "$NET" --fixed-ip "subnet=e2e-sub-$S,ip-address=10.77.0.50" "e2e-port2-$S"
check -m '^status="ACTIVE"' "a port bound to a host goes ACTIVE (the bridge agent reports it up)" \
  bash -c "openstack port create --network '$NET' --host \"\$(openstack network agent list --agent-type linux-bridge -f value -c Host | head -1)\" e2e-bound-$S >/dev/null \
    && sleep 1 && openstack port show e2e-bound-$S -f shell -c status"

# --- routers and floating IPs -------------------------------------------------
check -m '^name="e2e-router-' "router create" os router create "e2e-router-$S" -f shell -c name
check "router add subnet" os router add subnet "e2e-router-$S" "e2e-sub-$S"
check "router set --external-gateway public" os router set --external-gateway public "e2e-router-$S"
check -m "external_fixed_ips" -m "$(os network show public -f value -c id)" "router shows its gateway" \
  os router show "e2e-router-$S" -f shell -c external_gateway_info
check -m '^floating_ip_address="172\.24\.4\.' "floating ip create public" os floating ip create public -f shell
FIP=$(val floating_ip_address)
check "floating ip set --port" os floating ip set --port "e2e-port-$S" "$FIP"
check -m '^fixed_ip_address="10.77.0.50"' -m '^status="ACTIVE"' "the floating IP maps to the port" \
  os floating ip show "$FIP" -f shell -c fixed_ip_address -c status
check -x -m 'RouterInterfaceInUseByFloatingIP|required by one or more floating' "interface in use by the floating IP stays" \
  os router remove subnet "e2e-router-$S" "e2e-sub-$S"
check "floating ip unset --port" os floating ip unset --port "$FIP"
check -x -m 'NetworkInUse|ports still in use|in use' "network with ports cannot be deleted" os network delete "$NET"

# --- security groups ---------------------------------------------------------
check -m '^protocol="icmp"' "security group rule create --proto icmp default" \
  os security group rule create --proto icmp default -f shell -c protocol
check -m '^port_range_min="22"' -m '^port_range_max="22"' "security group rule create --proto tcp --dst-port 22 default" \
  os security group rule create --proto tcp --dst-port 22 default -f shell -c port_range_min -c port_range_max
check -x -m 'already exists|SecurityGroupRuleExists|Conflict' "the same rule again is a conflict" \
  os security group rule create --proto tcp --dst-port 22 default

# --- availability, quotas, QoS, RBAC ------------------------------------------
check -m "used_ips" -m "10.77.0.0/24" "ip availability show" os ip availability show "$NET"
check -m '^networks 100$' -m '^ports 500$' "quota show --network (defaults)" os quota show --network -f value
check "quota set --networks 7" os quota set --networks 7 admin
check -m '^networks 7$' "quota show after set" os quota show --network admin -f value
check -m '^name="e2e-qos-' "network qos policy create" os network qos policy create "e2e-qos-$S" -f shell -c name
check -m '^max_kbps="10000"' "network qos rule create --type bandwidth-limit" \
  os network qos rule create --type bandwidth-limit --max-kbps 10000 --max-burst-kbits 1000 "e2e-qos-$S" -f shell -c max_kbps
check -m '^dscp_mark="26"' "network qos rule create --type dscp-marking" \
  os network qos rule create --type dscp-marking --dscp-mark 26 "e2e-qos-$S" -f shell -c dscp_mark
check -m '^min_kbps="1000"' "network qos rule create --type minimum-bandwidth" \
  os network qos rule create --type minimum-bandwidth --min-kbps 1000 --egress "e2e-qos-$S" -f shell -c min_kbps
check -m '^action="access_as_shared"' "network rbac create" \
  os network rbac create --target-project "$(os project show admin -f value -c id)" --action access_as_shared --type network "$NET" \
  -f shell -c action

# --- raw API: error format, versions, tags -------------------------------------
check -m '"NeutronError"' -m '"NetworkNotFound"' -m 'HTTP 404' "unknown network: NeutronError 404" \
  api GET /v2.0/networks/00000000-0000-0000-0000-000000000000 '' "${H[@]}"
check -m 'HTTP 401' "no token: 401" api GET /v2.0/networks
check -m '"CURRENT"' "version discovery at /" api GET / ''
check -m '"alias": ?"router"' "extensions list" api GET /v2.0/extensions '' "${H[@]}"
NET_ID=$(os network show "$NET" -f value -c id)
check -m 'HTTP 200' -m '"red"' "tags: PUT /networks/{id}/tags" api PUT "/v2.0/networks/$NET_ID/tags" '{"tags": ["red", "blue"]}' "${H[@]}"
check -m "$NET_ID" "list by tags" api GET "/v2.0/networks?tags=red,blue" '' "${H[@]}"
check -m 'HTTP 412' "If-Match with a stale revision: 412" \
  api PUT "/v2.0/networks/$NET_ID" '{"network": {"name": "x"}}' "${H[@]}" -H 'If-Match: revision_number=0'

# --- cleanup -------------------------------------------------------------------
check "floating ip delete" os floating ip delete "$FIP"
check "router unset gateway" os router unset --external-gateway "e2e-router-$S"
check "router remove subnet" os router remove subnet "e2e-router-$S" "e2e-sub-$S"
check "router delete" os router delete "e2e-router-$S"
check "port delete" os port delete "e2e-port-$S" "e2e-bound-$S"
check "network delete" os network delete "$NET"
# an external network left behind would be a candidate for every client's automatic floating IP
check "network delete (shared, external, VLAN)" os network delete "e2e-shared-$S" "e2e-ext-$S" "e2e-vlan-$S"
finish
