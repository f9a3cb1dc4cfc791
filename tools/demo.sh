#!/usr/bin/env bash
# `make demo`: the lab's five hosts, examples/site.yml, the VIPs and HTTP through
# them, a kill -9 of the master and the takeover, a drain with the real_server
# module. The lab stays up at the end (tear down: .venv/bin/python -m lab down demo).
# Runs from the repository root as root; `make demo` sets PATH and
# ANSIBLE_COLLECTIONS_PATH (the work tree as hapair.keepalived).
set -euo pipefail

LAB=${HAPAIR_DEMO_LAB:-demo}
PY=.venv/bin/python
INV=/run/hapair-lab/$LAB/inventory.yml
export ANSIBLE_PIPELINING=1 ANSIBLE_HOST_KEY_CHECKING=0 ANSIBLE_DEPRECATION_WARNINGS=0 ANSIBLE_FORKS=10
PLAY=(ansible-playbook -i "$INV" -i examples/inventory/lab.yml)

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
on() { local host=$1; shift; "$PY" -m lab exec "$host" --lab "$LAB" -- "$@"; }
get() {  # get HOST URL: one HTTP GET from HOST, prints the body or the error
    on "$1" python3 -c 'import sys, urllib.request
try:
    print(urllib.request.urlopen(sys.argv[1], timeout=3).read().decode().strip())
except Exception as exc:
    print("no answer:", exc)' "$2"
}
since() { local ms=$(( ($(date +%s%N) - $1) / 1000000 )); printf '%d.%03d s' $((ms / 1000)) $((ms % 1000)); }
vips() { for lb in lb1 lb2; do printf '  %s: %s\n' "$lb" "$(on "$lb" ip -br -4 addr show dev eth0 | awk '{$1=$2=""; print}')"; done; }

step "1/7 Lab: lb1 lb2 web1 web2 client on 192.0.2.0/24 (namespaces, overlay roots, systemd, sshd)"
"$PY" -m lab down "$LAB" >/dev/null 2>&1 || true
"$PY" -m lab up five --name "$LAB"

step "2/7 ansible-playbook examples/site.yml (after examples/lab-apps.yml: HTTP stand-ins on web1/web2 :80, lb1/lb2 :8080)"
"${PLAY[@]}" examples/lab-apps.yml | tail -n 6
start=$(date +%s%N)
"${PLAY[@]}" examples/site.yml | tail -n 6
echo "  first run: $(since "$start")"
start=$(date +%s%N)
"${PLAY[@]}" examples/site.yml | tail -n 6
echo "  second run (expected changed=0): $(since "$start")"

step "3/7 VIPs: web 192.0.2.50 (master/backup, lb1 master), api 192.0.2.51 + .52 (master-master)"
sleep 2
vips
on lb1 /opt/pykeepalived/bin/pykeepalivedctl status

step "4/7 From the client: HTTP to each VIP (port 8080 is served by whichever load balancer holds the VIP)"
for vip in 192.0.2.50 192.0.2.51 192.0.2.52; do printf '  %s:8080 -> %s\n' "$vip" "$(get client "http://$vip:8080/")"; done
echo "  Virtual server 192.0.2.50:80 -> web1/web2: the daemon health-checks both (status above); forwarding"
echo "  needs a kernel data plane: this kernel has no IPVS and the nftables backend is not merged yet."

step "5/7 kill -9 the master's daemon on lb1 (and keep it down), watch lb2 take over"
on lb1 systemctl kill --signal=SIGKILL pykeepalived.service
on lb1 systemctl stop pykeepalived.service
start=$(date +%s%N)
until on lb2 ip -br -4 addr show dev eth0 | grep -q '192\.0\.2\.50/'; do
    sleep 0.2
    if [ $(( $(date +%s%N) - start )) -gt 20000000000 ]; then echo "  no takeover in 20 s" >&2; exit 1; fi
done
echo "  192.0.2.50 on lb2 $(since "$start") after the kill"
sleep 1
vips
echo "  (a daemon killed with -9 cannot remove its VIPs: lb1 keeps stale copies, as with keepalived;"
echo "   the client follows lb2's gratuitous ARPs)"
for vip in 192.0.2.50 192.0.2.51 192.0.2.52; do printf '  %s:8080 -> %s\n' "$vip" "$(get client "http://$vip:8080/")"; done

step "6/7 Start lb1 again: it preempts (priority 150 > 100) and takes its VIPs back"
on lb1 systemctl start pykeepalived.service
sleep 3
vips

step "7/7 Drain web1 with hapair.keepalived.real_server (twice: changed, then ok)"
ARGS='{"virtual_server": {"address": "192.0.2.50", "port": 80}, "address": "192.0.2.21", "port": 80, "state": "drained",
       "checker": {"type": "HTTP_GET", "connect_timeout": 2, "urls": [{"path": "/", "status_code": ["200"]}]}}'
for run in 1 2; do
    echo "  run $run:"
    ansible -i "$INV" loadbalancers -m hapair.keepalived.real_server -a "$ARGS" | grep -E '^[a-z0-9]+ \|' | sed 's/^/    /'
done
sleep 1
on lb1 /opt/pykeepalived/bin/pykeepalivedctl status | sed -n '/Virtual servers/,$p'
echo "  New connections to 192.0.2.50:80 would now go to web2 only (with IPVS or nftables as data plane)."

step "Done. The lab stays up:"
echo "  $PY -m lab ssh lb1 --lab $LAB -- /opt/pykeepalived/bin/pykeepalivedctl status"
echo "  ansible-playbook -i $INV -i examples/inventory/lab.yml examples/site.yml"
echo "  Tear down: $PY -m lab down $LAB     (or: make lab-down)"
