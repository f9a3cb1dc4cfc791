#!/usr/bin/env bash
# `make demo`: the lab's LVS-NAT topology (client | lb1, lb2 | web1, web2),
# examples/site.yml, the VIPs and HTTP through them to the web servers, a kill -9
# of the master and the takeover, a runtime drain with real_server_state and new
# connections moving. The lab stays up at the end (tear down:
# .venv/bin/python -m lab down demo).
# Runs from the repository root as root; `make demo` sets PATH and
# ANSIBLE_COLLECTIONS_PATH (the work tree as hapair.keepalived).
set -euo pipefail

LAB=${HAPAIR_DEMO_LAB:-demo}
PY=.venv/bin/python
INV=/run/hapair-lab/$LAB/inventory.yml
VIP=198.51.100.50
export ANSIBLE_PIPELINING=1 ANSIBLE_HOST_KEY_CHECKING=0 ANSIBLE_DEPRECATION_WARNINGS=0 ANSIBLE_FORKS=10
# The role builds its wheels on the controller: in the checkout, not ~/.cache.
PLAY=(ansible-playbook -i "$INV" -i examples/inventory/lab.yml -e "keepalived_ha_wheelhouse_cache=$PWD/.cache/wheelhouse")

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
on() { local host=$1; shift; "$PY" -m lab exec "$host" --lab "$LAB" -- "$@"; }
# hits N URL [TIMEOUT]: N HTTP GETs from the client, one connection each; prints each answer (or "fail")
hits() {
    on client python3 -c 'import sys, urllib.request
for _ in range(int(sys.argv[1])):
    try:
        print(urllib.request.urlopen(sys.argv[2], timeout=float(sys.argv[3])).read().decode().strip())
    except Exception:
        print("fail")' "$1" "$2" "${3:-3}"
}
tally() { sort | uniq -c | awk '{printf "%s %s x%d", sep, $2, $1; sep=","} END {print ""}'; }
get() { hits 1 "$1"; }
through() { on "$1" conntrack -L -p tcp --orig-dst "$VIP" --dport 80 2>/dev/null | wc -l; }  # NATed flows on a load balancer
since() { local ms=$(( ($(date +%s%N) - $1) / 1000000 )); printf '%d.%03d s' $((ms / 1000)) $((ms % 1000)); }
vips() { for lb in lb1 lb2; do printf '  %s: %s\n' "$lb" "$(on "$lb" ip -br -4 addr | awk '$1 != "lo" {sub(/@.*/, "", $1); printf "%s", $1 ":"; for (i = 3; i <= NF; i++) printf " %s", $i; printf "   "}')"; done; }
rs() {  # rs STATE: web1's runtime state (drained|enabled) on both load balancers; config untouched
    ansible -i "$INV" loadbalancers -m hapair.keepalived.real_server_state -a "{\"virtual_server\": {\"address\": \"$VIP\", \"port\": 80},
      \"address\": \"192.0.2.21\", \"port\": 80, \"state\": \"$1\"}" \
      | grep -E '^[a-z0-9]+ \|' | sed 's/^/    /'
}

step "1/8 Lab 'nat': client 198.51.100.100 | lb1, lb2 (front .11/.12, back 192.0.2.11/.12) | web1 .21, web2 .22"
"$PY" -m lab down "$LAB" >/dev/null 2>&1 || true
"$PY" -m lab up nat --name "$LAB"

step "2/8 ansible-playbook examples/site.yml (after examples/lab-apps.yml: HTTP stand-ins on web1/web2 :80, lb1/lb2 :8080)"
"${PLAY[@]}" examples/lab-apps.yml | tail -n 6
start=$(date +%s%N)
"${PLAY[@]}" examples/site.yml | tail -n 6
echo "  first run: $(since "$start")"
start=$(date +%s%N)
"${PLAY[@]}" examples/site.yml | tail -n 6
echo "  second run (expected changed=0): $(since "$start")"

step "3/8 VIPs: web $VIP + gateway 192.0.2.1 (one sync group, lb1 master), api .51/.52 (master-master)"
sleep 2
vips
echo "  web1's routes (the role's nat_real_server entry point):"
on web1 ip -4 route | sed 's/^/    /'
on lb1 /opt/pykeepalived/bin/pykeepalivedctl status

step "4/8 From the client: 6 requests to http://$VIP/ (wrr over web1, web2; NAT by lb1's nftables table)"
echo "  answered by:$(hits 6 "http://$VIP/" | tally)"
echo "  NATed flows in lb1's conntrack: $(through lb1), in lb2's: $(through lb2)"
for vip in 198.51.100.51 198.51.100.52; do printf '  %s:8080 (api pair; served by the load balancer holding it) -> %s\n' "$vip" "$(get "http://$vip:8080/")"; done

step "5/8 kill -9 the master's daemon on lb1 (and keep it down); requests every ~0.3 s until one goes through lb2"
on lb1 systemctl kill --signal=SIGKILL pykeepalived.service
on lb1 systemctl stop pykeepalived.service
start=$(date +%s%N)
ok=0 failed=0
while :; do
    if [ "$(get "http://$VIP/" 1)" = fail ]; then failed=$((failed + 1)); else ok=$((ok + 1)); fi
    [ "$(through lb2)" -gt 0 ] && break
    if [ $(( $(date +%s%N) - start )) -gt 20000000000 ]; then echo "  no request through lb2 within 20 s" >&2; exit 1; fi
done
echo "  first request answered through lb2 $(since "$start") after the kill ($((ok + failed)) requests: $ok answered, $failed failed)"
echo "  (a daemon killed with -9 cannot clean up: lb1's kernel keeps its VIPs and NAT table and forwards until"
echo "   lb2's gratuitous ARPs move the client and the web servers over; keepalived behaves the same)"
vips
echo "  6 more requests, answered by:$(hits 6 "http://$VIP/" | tally)   (NATed flows in lb2's conntrack: $(through lb2))"

step "6/8 Start lb1 again: it preempts (priority 150 > 100) and takes its VIPs back"
on lb1 systemctl start pykeepalived.service
sleep 3
vips

step "7/8 Drain web1 at runtime with hapair.keepalived.real_server_state (twice: changed, then ok)"
for run in 1 2; do echo "  run $run:"; rs drained; done
sleep 1
on lb1 /opt/pykeepalived/bin/pykeepalivedctl status | sed -n '/Virtual servers/,$p'
echo "  6 new requests, answered by:$(hits 6 "http://$VIP/" | tally)"

step "8/8 Enable web1 again (state enabled): new connections are balanced again"
rs enabled
sleep 1
echo "  6 new requests, answered by:$(hits 6 "http://$VIP/" | tally)"

step "Done. The lab stays up:"
echo "  $PY -m lab exec client --lab $LAB -- curl -s http://$VIP/"
echo "  $PY -m lab ssh lb1 --lab $LAB -- /opt/pykeepalived/bin/pykeepalivedctl status"
echo "  ansible-playbook -i $INV -i examples/inventory/lab.yml examples/site.yml"
echo "  Tear down: $PY -m lab down $LAB     (or: make lab-down)"
