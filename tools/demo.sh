#!/usr/bin/env bash
# `make demo`: the collection at work against a local GeeLark API emulator; no account needed.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${BIN:-$root/.venv/bin}
export PATH="$bin:$PATH"
. "$root/tools/lib.sh"
demo=$root/.cache/demo
rm -rf "$demo"
mkdir -p "$demo"
trap stop_emulator EXIT

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '$ %s\n' "$*"; "$@"; }
# Keep the first five phones of each list in a summary, and say how many more there are.
short_list() { awk '/^    - .  / { if (++n > 5) { more++; next } } !/^    - .  / { if (more) printf "    ... and %d more\n", more; n = 0; more = 0 } { print }'; }

say "Install geelark.cloudphone from a freshly built Galaxy tarball"
ansible-galaxy collection build --output-path "$demo/dist" --force "$root" | tail -n1
ansible-galaxy collection install --offline -p "$demo/collections" "$demo"/dist/*.tar.gz 2>/dev/null | tail -n1
# ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED: a broken inventory stops the run (README, "Recommended settings").
export ANSIBLE_COLLECTIONS_PATH=$demo/collections ANSIBLE_NOCOLOR=1 ANSIBLE_LOCALHOST_WARNING=0 \
  ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED=true ANSIBLE_PYTHON_INTERPRETER=$bin/python ANSIBLE_DEPRECATION_WARNINGS=0 \
  ANSIBLE_CALLBACK_RESULT_FORMAT=yaml

say "Start a GeeLark API emulator with a fleet of 300 phones (loopback only)"
start_emulator "$demo" --phones 300 --token demo-token --seed 7
export GEELARK_TOKEN=demo-token GEELARK_API_URL=$EMULATOR_URL
echo "emulator on $EMULATOR_URL; GEELARK_TOKEN and GEELARK_API_URL are set for the commands below, and"
echo "ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED=true, so an inventory that does not load stops a run (recommended)"

cat > "$demo/fleet.geelark.yml" <<YAML
plugin: geelark.cloudphone.geelark
keyed_groups:
  - key: geelark_group.name
    prefix: group
YAML
say "The dynamic inventory: every phone, grouped by status ($demo/fleet.geelark.yml)"
cat "$demo/fleet.geelark.yml"
printf '$ ansible-inventory -i fleet.geelark.yml --graph   (three hosts a group shown here)\n'
ansible-inventory -i "$demo/fleet.geelark.yml" --graph 2>/dev/null | awk '
  function flush() { if (more > 0) printf "%s... and %d more\n", indent, more; more = 0; shown = 0 }
  /@/ { flush(); print; next }
  { if (shown < 3) { print; shown++; indent = substr($0, 1, index($0, "--") + 1) } else more++ }
  END { flush() }'

say "Runbook status_report: counts by status and by GeeLark group, with Markdown and HTML files"
show ansible-playbook -i "$demo/fleet.geelark.yml" geelark.cloudphone.status_report -e "report_dir=$demo/report" \
  2>/dev/null | sed -n '/^TASK \[Show the report\]/,/^TASK \[Make/p' | sed '$d'
echo "reports written: $demo/report/status_report.{md,html,json,csv}"

say "Runbook assert_status: are all phones of the status_started group started? (yes)"
show ansible-playbook -i "$demo/fleet.geelark.yml" geelark.cloudphone.assert_status -e phones=status_started \
  2>/dev/null | sed -n '/^TASK \[Report that every phone/,$p'

say "Runbook assert_status: are all phones of the GeeLark group 'warmup' started? (no: the failure lists them)"
set +e
ansible-playbook -i "$demo/fleet.geelark.yml" geelark.cloudphone.assert_status -e phones=group_warmup > "$demo/assert.out" 2>&1
rc=$?
set -e
printf '$ ansible-playbook -i fleet.geelark.yml geelark.cloudphone.assert_status -e phones=group_warmup\n'
sed -n '/^fatal: /,$p' "$demo/assert.out" | awk 'NR <= 14 || /PLAY RECAP|localhost/ { print } NR == 15 { print "    ... (the full list is in '"$demo"'/assert.out)" }'
echo "(exit code $rc: the assertion failed, as it should)"

say "Runbook wait_for_status: three shut-down phones are started; wait until they are up"
ids=$(ansible-inventory -i "$demo/fleet.geelark.yml" --list 2>/dev/null | "$bin/python" -c '
import json, sys
data = json.load(sys.stdin, object_hook=lambda d: d["__ansible_unsafe"] if set(d) == {"__ansible_unsafe"} else d)
print(json.dumps([data["_meta"]["hostvars"][h]["geelark_id"] for h in data["status_shut_down"]["hosts"][:3]]))')
"$bin/python" -c "import json, sys, urllib.request
urllib.request.urlopen(urllib.request.Request('$EMULATOR_URL/_emulator/phones/status', method='POST',
  data=json.dumps({'ids': json.loads(sys.argv[1]), 'status': 0, 'after': 3}).encode()))" "$ids"
show ansible-playbook -i localhost, geelark.cloudphone.wait_for_status \
  -e "{\"phone_ids\": $ids, \"poll_interval\": 1, \"wait_timeout\": 30}" 2>/dev/null \
  | sed -n '/^TASK \[Poll the phones/,$p'

say "Runbook power: stop every started phone? The guard refuses before any write (more than max_changes=50)"
set +e
ansible-playbook -i "$demo/fleet.geelark.yml" geelark.cloudphone.power -e state=stopped -e phones=status_started \
  > "$demo/power-guard.out" 2>&1
rc=$?
set -e
printf '$ ansible-playbook -i fleet.geelark.yml geelark.cloudphone.power -e state=stopped -e phones=status_started\n'
grep -A3 '^fatal: ' "$demo/power-guard.out" | grep -v '^--$' || true
echo "(exit code $rc; nothing was stopped)"

# Boots in the emulator take two status polls: `starting` on the first, `started` on the second.
"$bin/python" -c "import json, urllib.request
urllib.request.urlopen(urllib.request.Request('$EMULATOR_URL/_emulator/power', method='POST',
  data=json.dumps({'boot_reads': 2}).encode()))"
say "Runbook power with --check: the plan for starting the shut-down phones of the GeeLark group 'warmup'"
show ansible-playbook -i "$demo/fleet.geelark.yml" geelark.cloudphone.power -e state=started \
  -e 'phones=status_shut_down:&group_warmup' --check 2>/dev/null | sed -n '/^TASK \[Summarise\]/,/^$/p' | short_list

say "Runbook power for real: start them, one batched call, and wait until they are started"
show ansible-playbook -i "$demo/fleet.geelark.yml" geelark.cloudphone.power -e state=started \
  -e 'phones=status_shut_down:&group_warmup' -e poll_interval=1 2>/dev/null \
  | sed -n '/^TASK \[Make the change and wait/,$p' | short_list

stop_emulator
say "Now against the real GeeLark API"
cat <<TEXT
The same commands work against your GeeLark account. Unset the emulator's URL and give credentials:

  unset GEELARK_API_URL                # the default is https://openapi.geelark.com
  export GEELARK_TOKEN=...             # from the GeeLark client's API settings, or:
  export GEELARK_APP_ID=... GEELARK_API_KEY=...
  ansible-galaxy collection install geelark.cloudphone
  printf 'plugin: geelark.cloudphone.geelark\n' > fleet.geelark.yml
  ansible-inventory -i fleet.geelark.yml --graph
  ansible-playbook -i fleet.geelark.yml geelark.cloudphone.status_report
  ansible-playbook -i fleet.geelark.yml geelark.cloudphone.power -e state=started -e phones=group_warmup --check

The emulator has stopped. Files of this demo are in $demo.
TEXT
