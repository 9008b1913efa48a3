#!/usr/bin/env bash
# End-to-end checks of Stratus's Compute (Nova v2.1) and Placement with
# python-openstackclient and osc-placement: the compute commands of the seed
# documents, booting on the fake driver through API, conductor, scheduler,
# Placement and the compute host, with ports from the Network service.
#
#   scripts/e2e/compute.sh DATA_DIR
#
# Same conventions as identity.sh. The last line is `e2e: N passed, N failed`.
set -uo pipefail

DATA=${1:?usage: compute.sh DATA_DIR}
# shellcheck source=../lib/e2e.sh
source "$(dirname "$0")/../lib/e2e.sh"
PL=(--os-placement-api-version 1.39)

check -m '^http' "compute endpoint in the catalog" os endpoint list --service compute --interface public -f value -c URL
check -m '^http' "placement endpoint in the catalog" os endpoint list --service placement --interface public -f value -c URL

# --- flavors -------------------------------------------------------------------
check -m 'm1.nano' -m 'm1.tiny' -m 'm1.xlarge' "default flavors" os flavor list -f value -c Name
check -m '^ram="256"' -m '^vcpus="2"' "flavor create" os flavor create --ram 256 --vcpus 2 --disk 1 "e2e-flavor-$S" -f shell -c ram -c vcpus
check "flavor set --property" os flavor set --property hw:cpu_policy=shared "e2e-flavor-$S"
check -m "hw:cpu_policy': 'shared'" "flavor show has the property" os flavor show "e2e-flavor-$S" -f shell -c properties
check "flavor delete" os flavor delete "e2e-flavor-$S"
check -x -m 'No Flavor found|could not be found' "deleted flavor is gone" os flavor show "e2e-flavor-$S"

# --- key pairs -----------------------------------------------------------------
check -m 'PRIVATE KEY-----' "keypair create (generated)" os keypair create "e2e-gen-$S"
ssh-keygen -q -t ed25519 -N '' -f "$DATA/e2e-key-$S" >/dev/null 2>&1
check -m '^fingerprint=' "keypair create --public-key" os keypair create --public-key "$DATA/e2e-key-$S.pub" "e2e-key-$S" -f shell -c fingerprint
check -m "e2e-gen-$S" -m "e2e-key-$S" "keypair list" os keypair list -f value -c Name

# --- servers -------------------------------------------------------------------
head -c 65536 /dev/urandom >"$DATA/e2e-image-$S.raw"
check -m '^status="active"' "an image to boot" os image create --disk-format raw --container-format bare --file "$DATA/e2e-image-$S.raw" "e2e-img-$S" -f shell -c status
printf '#!/bin/sh\necho hello\n' >"$DATA/e2e-userdata-$S"
# admin sees every project's `default` group, so name it by id
SG=$(openstack security group list --project admin -f value -c ID -c Name | awk '$2 == "default" {print $1}')
check -m '^status="ACTIVE"' -m "'private': \\['10\\.0\\.0\\." -m "^key_name=\"e2e-key-$S\"" "server create --wait reaches ACTIVE with an address" \
  os server create --image "e2e-img-$S" --flavor m1.nano --network private --key-name "e2e-key-$S" --security-group "$SG" \
  --property role=web --user-data "$DATA/e2e-userdata-$S" --wait "e2e-vm-$S" -f shell -c status -c addresses -c key_name
check -m "device_owner.*compute:nova" "its port is bound in the Network service" \
  bash -c "openstack port list --server e2e-vm-$S --long -f value -c 'Device Owner' | sed 's/^/device_owner /'"
check -m "e2e-vm-$S" "server list --name" os server list --name "^e2e-vm-$S\$" -f value -c Name
check -m "ACTIVE" -m "m1.nano" -m "'role': 'web'" "server list --long" os server list --long --status ACTIVE -f value
check -m "'role': 'web'" "server show has the property" os server show "e2e-vm-$S" -f shell -c properties
check "server set --name --property" os server set --name "e2e-vm2-$S" --property tier=1 "e2e-vm-$S"
check -m "'tier': '1'" -m "^name=\"e2e-vm2-$S\"" "server show after set" os server show "e2e-vm2-$S" -f shell -c properties -c name
check -m 'create' "server event list" os server event list "e2e-vm2-$S" -f value -c Action
check "server create --min 3 --max 3" os server create --image "e2e-img-$S" --flavor m1.nano --network private --min 3 --max 3 --wait "e2e-many-$S"
check -m "e2e-many-$S-1" -m "e2e-many-$S-2" -m "e2e-many-$S-3" "three servers from one request" os server list --name "e2e-many-$S" -f value -c Name
check -x -m 'Quota exceeded|403' "over the instance quota is refused" \
  os server create --image "e2e-img-$S" --flavor m1.nano --network private --min 20 --max 20 "e2e-toomany-$S"

# --- metadata service (as Neutron's metadata proxy asks: signed instance id) ----
VM_ID=$(openstack server show "e2e-vm2-$S" -f value -c id)
MD=${METADATA_URL:-http://127.0.0.1:8775}   # scripts/test.sh sets it
SIG=$(python3 -c "import hmac,hashlib,sys; print(hmac.new(open('$DATA/metadata-secret','rb').read().strip(), b'$VM_ID', hashlib.sha256).hexdigest())")
check -m "\"uuid\": \"$VM_ID\"" -m '"tier": "1"' -m "e2e-key-$S" "metadata: meta_data.json for the signed instance" \
  curl -sf -H "X-Instance-ID: $VM_ID" -H "X-Instance-ID-Signature: $SIG" "$MD/openstack/latest/meta_data.json"
check -m 'echo hello' "metadata: user_data" curl -sf -H "X-Instance-ID: $VM_ID" -H "X-Instance-ID-Signature: $SIG" "$MD/openstack/latest/user_data"
check -m 'instance-id' -m 'local-ipv4' "metadata: EC2 meta-data index" curl -sf -H "X-Instance-ID: $VM_ID" -H "X-Instance-ID-Signature: $SIG" "$MD/2009-04-04/meta-data/"
check -m '^403' "metadata: a bad signature is refused" curl -s -o /dev/null -w '%{http_code}' -H "X-Instance-ID: $VM_ID" -H "X-Instance-ID-Signature: 00" "$MD/openstack/latest/meta_data.json"

# --- floating IPs in the server's addresses (Neutron's network-changed) ----------
# addresses_when SERVER PATTERN [absent]: the server's addresses once PATTERN is in them (or, with
# `absent`, no longer is); Nova refreshes them asynchronously, so this waits up to 15 s.
addresses_when() {
  local i out
  for ((i = 0; i < 30; i++)); do
    out=$(openstack server show "$1" -f value -c addresses)
    if [[ ${3-} == absent ]]; then ! grep -q -- "$2" <<<"$out" && break; else grep -q -- "$2" <<<"$out" && break; fi
    sleep 0.5
  done
  echo "$out"
}
check -m '^floating_ip_address="172\.24\.4\.' "floating ip create for the server" \
  os floating ip create public -f shell -c floating_ip_address
SERVER_FIP=$(val floating_ip_address)
check "server add floating ip" os server add floating ip "e2e-vm2-$S" "$SERVER_FIP"
check -m "10\\.0\\.0\\.[0-9]+', '$SERVER_FIP'" "the floating IP follows the fixed one in the server's addresses" \
  addresses_when "e2e-vm2-$S" "$SERVER_FIP"
check "server remove floating ip" os server remove floating ip "e2e-vm2-$S" "$SERVER_FIP"
check -n "$SERVER_FIP" -m "10\\.0\\.0\\." "the floating IP leaves the server's addresses" \
  addresses_when "e2e-vm2-$S" "$SERVER_FIP" absent
check "floating ip set --port (Neutron only)" os floating ip set --port \
  "$(openstack port list --server "e2e-vm2-$S" -f value -c ID | head -1)" "$SERVER_FIP"
check -m "$SERVER_FIP" "a floating IP set through Neutron shows too" addresses_when "e2e-vm2-$S" "$SERVER_FIP"
check "floating ip delete" os floating ip delete "$SERVER_FIP"
check -n "$SERVER_FIP" "a deleted floating IP leaves the addresses" addresses_when "e2e-vm2-$S" "$SERVER_FIP" absent

# --- operator views --------------------------------------------------------------
check -m 'fake' -m 'up' "hypervisor list" os hypervisor list -f value
HV=$(openstack hypervisor list -f value -c 'Hypervisor Hostname' | head -1)
check -m '^vcpus_used=' -m '^running_vms=' "hypervisor show" os hypervisor show "$HV" -f shell
check -m 'running_vms' "hypervisor stats show" os hypervisor stats show -f json
check -m 'nova-compute' -m 'nova-scheduler' -m 'nova-conductor' "compute service list" os compute service list -f value -c Binary
check "compute service set --disable" os compute service set --disable --disable-reason e2e "$HV" nova-compute
check -m 'disabled' "the compute service is disabled" os compute service list --service nova-compute -f value -c Status
check "compute service set --enable" os compute service set --enable "$HV" nova-compute
check -m '^nova' "availability zone list" os availability zone list --compute -f value -c 'Zone Name'
check -m '^instances [0-9]+' "quota show --compute" os quota show --compute -f value
check "quota set --instances" os quota set --instances 30 admin
check -m '^instances 30$' "quota shows the new limit" os quota show --compute admin -f value
check -m "$(openstack project show admin -f value -c id)" "usage list" os usage list -f value -c Project
check -m 'max_total_instances' -m 'total_instances_used' "limits show --absolute" os limits show --absolute -f value

# --- placement -----------------------------------------------------------------
check -m "$HV" "resource provider list" os resource provider list "${PL[@]}" -f value -c name
RP=$(openstack resource provider list "${PL[@]}" --name "$HV" -f value -c uuid)
check -m "^name=\"$HV\"" "resource provider show" os resource provider show "${PL[@]}" "$RP" -f shell
check -m 'VCPU' -m 'MEMORY_MB' -m 'DISK_GB' "resource provider inventory list" os resource provider inventory list "${PL[@]}" "$RP" -f value
check -m "$RP" "allocation candidate list --resource VCPU=1" os allocation candidate list "${PL[@]}" --resource VCPU=1 -f value
check -m 'COMPUTE_NODE' "resource provider trait list" os resource provider trait list "${PL[@]}" "$RP" -f value
check -m 'VCPU' "usages of the provider equal the servers' flavors" \
  bash -c "openstack resource provider usage show ${PL[*]} $RP -f value | grep -x 'VCPU [0-9]*'"

# --- delete --------------------------------------------------------------------
SERVER_ID=$(openstack server show "e2e-vm2-$S" -f value -c id)
check "server delete --wait" os server delete --wait "e2e-vm2-$S" "e2e-many-$S-1" "e2e-many-$S-2" "e2e-many-$S-3"
check -x -m 'No [Ss]erver|could not be found' "deleted server is gone" os server show "e2e-vm2-$S"
check -n "$SERVER_ID" "its ports are gone" os port list --device-id "$SERVER_ID" -f value -c ID
check -n "$SERVER_ID" "its allocation is gone" bash -c "openstack resource provider allocation show ${PL[*]} $SERVER_ID -f value 2>&1"

finish
