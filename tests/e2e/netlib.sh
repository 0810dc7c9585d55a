# Network-namespace harness, sourced by tests/e2e/netns.sh and scripts/demo (bash).
#
# Builds a private LAN out of network namespaces, in the spirit of WireGuard's netns.sh:
#
#   namespace $NET_BR:  br0 (bridge), with one veth port per host
#   namespace host i:   eth0 = 10.99.0.i/24 (broadcast 10.99.0.255), lo
#
# so UDP broadcast from one host crosses real interfaces and a real bridge to the others. The
# bridge lives in its own namespace and every veth is created directly inside the namespaces, so
# nothing is ever added to the namespace the script was started in. Names carry a per-run
# suffix (PID and a random number), so concurrent runs never collide, and net_cleanup removes
# every process, namespace and interface this file created (deleting a namespace deletes its
# interfaces), pass or fail. Callers install net_cleanup in their EXIT trap.
#
# Faults are nftables rules in a table "dust_e2e" inside a host's namespace, on its input hook:
# random datagram loss (numgen random) and partitions (drop by source address).

NET_SFX=${NET_SFX:-$$-$RANDOM}
NET_BR="dust-br-$NET_SFX"
NET_SUBNET=${NET_SUBNET:-10.99.0}
NET_NAMESPACES=()  # every namespace created, bridge first
NET_PIDS=()        # every background process started through net_spawn / net_track

net_log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
net_die() {
  net_log "FATAL: $*"
  exit 1
}

# Fails (with the reason) unless this process can create network namespaces, veths, bridges and
# nftables tables: the suite needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN) and iproute2/nftables.
net_check() {
  local probe="dust-probe-$NET_SFX" err
  [ "$(id -u)" -eq 0 ] || { echo "not running as root (uid $(id -u)): network namespaces need root"; return 1; }
  command -v ip >/dev/null || { echo "ip (iproute2) not found"; return 1; }
  command -v nft >/dev/null || { echo "nft (nftables) not found"; return 1; }
  err=$(ip netns add "$probe" 2>&1) || { echo "ip netns add failed: $err"; return 1; }
  if ! err=$(ip -n "$probe" link add br0 type bridge 2>&1 &&
      ip -n "$probe" link add v0 type veth peer name v1 2>&1 &&
      ip netns exec "$probe" nft add table inet probe 2>&1); then
    ip netns del "$probe" 2>/dev/null
    echo "cannot create a bridge, a veth pair or an nftables table in a namespace: $err"
    return 1
  fi
  ip netns del "$probe"
}

net_ns() { echo "dust-h$1-$NET_SFX"; }        # namespace of host i (1-based)
net_ip() { echo "$NET_SUBNET.$1"; }           # address of host i
net_bcast() { echo "$NET_SUBNET.255"; }
net_exec() {                                  # net_exec i CMD...: run CMD inside host i
  local i=$1
  shift
  ip netns exec "$(net_ns "$i")" "$@"
}

# net_setup N: the bridge namespace and hosts 1..N.
net_setup() {
  local n=$1 i
  ip netns add "$NET_BR" || net_die "cannot create namespace $NET_BR"
  NET_NAMESPACES+=("$NET_BR")
  ip -n "$NET_BR" link set lo up
  ip -n "$NET_BR" link add br0 type bridge
  # No STP, no forwarding delay, no multicast snooping: ports forward at once and broadcast
  # floods every port.
  ip -n "$NET_BR" link set br0 type bridge stp_state 0 forward_delay 0 mcast_snooping 0
  ip -n "$NET_BR" link set br0 up
  for ((i = 1; i <= n; i++)); do net_add_host "$i"; done
}

# net_add_host i [LAN ADDRESS/PREFIX GATEWAY]: one more host on the bridge (also used for the
# suite's spy/attacker hosts), by default on $NET_BR at net_ip i; or on the bridge of another
# LAN (net_add_lan), at ADDRESS/PREFIX with a default route through GATEWAY (a router).
net_add_host() {
  local i=$1 lan=${2:-$NET_BR} addr=${3:-$(net_ip "$1")/24} gw=${4:-} ns
  ns=$(net_ns "$i")
  ip netns add "$ns" || net_die "cannot create namespace $ns"
  NET_NAMESPACES+=("$ns")
  ip -n "$ns" link set lo up
  ip -n "$ns" link add eth0 type veth peer name "p$i" netns "$lan"
  ip -n "$ns" addr add "$addr" brd + dev eth0
  ip -n "$ns" link set eth0 up
  [ -z "$gw" ] || ip -n "$ns" route add default via "$gw"
  ip -n "$lan" link set "p$i" master br0
  ip -n "$lan" link set "p$i" up
}

# Further LANs beside $NET_BR, each a bridge in a namespace of its own, and routers between
# them: a router forwards unicast (ip_forward) and, like every router, never broadcast.
net_lan_ns() { echo "dust-$1-$NET_SFX"; }
net_add_lan() { # net_add_lan NAME
  local ns
  ns=$(net_lan_ns "$1")
  ip netns add "$ns" || net_die "cannot create namespace $ns"
  NET_NAMESPACES+=("$ns")
  ip -n "$ns" link set lo up
  ip -n "$ns" link add br0 type bridge
  ip -n "$ns" link set br0 type bridge stp_state 0 forward_delay 0 mcast_snooping 0
  ip -n "$ns" link set br0 up
}
net_add_router() { # net_add_router NAME LAN1 ADDRESS1/PREFIX LAN2 ADDRESS2/PREFIX
  local ns k lan addr
  ns=$(net_lan_ns "$1")
  ip netns add "$ns" || net_die "cannot create namespace $ns"
  NET_NAMESPACES+=("$ns")
  ip -n "$ns" link set lo up
  for k in 1 2; do
    if [ "$k" = 1 ]; then lan=$2 addr=$3; else lan=$4 addr=$5; fi
    ip -n "$ns" link add "eth$k" type veth peer name "r-$1" netns "$lan"
    ip -n "$ns" addr add "$addr" brd + dev "eth$k"
    ip -n "$ns" link set "eth$k" up
    ip -n "$lan" link set "r-$1" master br0
    ip -n "$lan" link set "r-$1" up
  done
  ip netns exec "$ns" sysctl -qw net.ipv4.ip_forward=1
}

# net_spawn i LOG CMD...: starts CMD in host i's namespace in the background, output to LOG;
# its PID is in $NET_LAST_PID and recorded for cleanup. `ip netns exec` execs CMD, so the PID is
# CMD's own. i = 0 runs CMD in the caller's namespace (loopback demo).
net_spawn() {
  local i=$1 log=$2
  shift 2
  if [ "$i" = 0 ]; then
    "$@" >"$log" 2>&1 &
  else
    ip netns exec "$(net_ns "$i")" "$@" >"$log" 2>&1 &
  fi
  NET_LAST_PID=$!
  NET_PIDS+=("$NET_LAST_PID")
}

# net_stop PID [SIGNAL]: signals one process we started and waits for it (up to 20 s, then KILL).
net_stop() {
  local pid=$1 sig=${2:-TERM} t
  kill -"$sig" "$pid" 2>/dev/null || return 0
  for ((t = 0; t < 200; t++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  net_forget "$pid"
  return 0
}

# Forgets a PID that was waited for (so cleanup never signals a recycled PID).
net_forget() {
  local pid=$1 keep=() p
  for p in "${NET_PIDS[@]}"; do [ "$p" = "$pid" ] || keep+=("$p"); done
  NET_PIDS=("${keep[@]}")
}

# nftables faults, all in table inet dust_e2e of host i's namespace.
net_rules_clear() { net_exec "$1" nft delete table inet dust_e2e 2>/dev/null || true; }
net_rules_table() {
  net_exec "$1" nft add table inet dust_e2e
  net_exec "$1" nft add chain inet dust_e2e input '{ type filter hook input priority 0; policy accept; }'
}
# net_loss i PCT PORT: drop PCT% of the UDP datagrams host i receives on PORT, at random.
net_loss() {
  local i=$1 pct=$2 port=$3
  net_rules_clear "$i"
  [ "$pct" -gt 0 ] || return 0
  net_rules_table "$i"
  net_exec "$i" nft add rule inet dust_e2e input udp dport "$port" numgen random mod 100 '<' "$pct" counter drop
}
# net_partition "1 2" "3 4 5": every host drops what arrives from the other group.
net_partition() {
  local a=($1) b=($2) i j
  for i in "${a[@]}"; do
    net_rules_clear "$i"
    net_rules_table "$i"
    for j in "${b[@]}"; do net_exec "$i" nft add rule inet dust_e2e input ip saddr "$(net_ip "$j")" counter drop; done
  done
  for i in "${b[@]}"; do
    net_rules_clear "$i"
    net_rules_table "$i"
    for j in "${a[@]}"; do net_exec "$i" nft add rule inet dust_e2e input ip saddr "$(net_ip "$j")" counter drop; done
  done
}

# Removes everything: our processes (recorded, then anything still inside our namespaces,
# which can only be ours), then the namespaces (and with them every veth and the bridge).
net_cleanup() {
  local pid ns t
  set +e  # runs from an EXIT trap: every step is attempted whatever failed before
  for pid in "${NET_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  for pid in "${NET_PIDS[@]}"; do
    for ((t = 0; t < 50; t++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null
  done
  for ns in "${NET_NAMESPACES[@]}"; do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
  done
  wait 2>/dev/null
  for ns in "${NET_NAMESPACES[@]}"; do ip netns del "$ns" 2>/dev/null; done
  NET_NAMESPACES=()
  NET_PIDS=()
}

# Lists what is left of this run (namespaces with our suffix): empty after net_cleanup.
net_leftovers() { ip netns list 2>/dev/null | awk '{print $1}' | grep -e "-$NET_SFX\$" || true; }
