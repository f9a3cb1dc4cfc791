"""Hypothesis strategies that generate valid configuration models."""

from __future__ import annotations

import ipaddress

from hypothesis import strategies as st

from pykeepalived.config.model import Config
from pykeepalived.config.model_lvs import (
    DnsCheck,
    HttpCheck,
    MiscCheck,
    PingCheck,
    RealServer,
    SmtpCheck,
    SmtpHost,
    SorryServer,
    TcpCheck,
    Timing,
    UdpCheck,
    Url,
    VirtualServer,
)
from pykeepalived.config.model_vrrp import (
    GlobalDefs,
    Notify,
    Script,
    TrackRef,
    UnicastPeer,
    VirtualIp,
    VrrpInstance,
    VrrpScript,
    VrrpSyncGroup,
)

names = st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,11}", fullmatch=True).map(lambda s: "n_" + s)
words = st.from_regex(r"[a-z0-9][a-z0-9_.=-]{0,8}", fullmatch=True)
centis = st.integers(1, 4095).map(lambda c: c / 100)
timers = st.one_of(st.integers(1, 600).map(float), centis)
v4 = st.integers(0xC0000201, 0xC00002FE).map(ipaddress.IPv4Address)           # 192.0.2.0/24
v6 = st.integers(1, 2**16).map(lambda n: ipaddress.IPv6Address((0x20010DB8 << 96) + n))
scripts = st.builds(Script, st.tuples(st.just("/usr/local/bin/check"), *[words] * 2),
                    st.none() | st.just("nobody"), st.none())
notifies = st.builds(Notify, **{n: st.none() | scripts for n in
                                ("notify_master", "notify_backup", "notify_fault", "notify_stop", "notify")})


def vips(addrs):
    return st.builds(lambda a, p, dev, label, no_track: VirtualIp(
        ipaddress.ip_interface(f"{a}/{p}"), dev=dev, label=label, no_track=no_track),
        addrs, st.sampled_from([24, 32, 64, 128]).filter(lambda p: True), st.none() | st.just("eth0"),
        st.none() | st.just("eth0:1"), st.booleans())


@st.composite
def instances(draw, name: str, vrid: int, script_names: list[str]) -> VrrpInstance:
    family = draw(st.sampled_from([4, 6]))
    addrs = v4 if family == 4 else v6
    plen = (lambda p: min(p, 32)) if family == 4 else (lambda p: p)
    vip_list = [VirtualIp(ipaddress.ip_interface(f"{a}/{plen(p)}"), dev=d, label=lb, no_track=nt)
                for a, p, d, lb, nt in draw(st.lists(st.tuples(addrs, st.sampled_from([24, 32, 64]),
                                                              st.none() | st.just("eth0"),
                                                              st.none() | st.just("eth0:1"), st.booleans()),
                                                    min_size=1, max_size=3, unique_by=lambda t: t[0]))]
    version = 3 if family == 6 else draw(st.sampled_from([None, 2, 3]))
    v2 = version in (None, 2)
    auth = draw(st.booleans()) and v2
    refs = [TrackRef(n, draw(st.none() | st.integers(-253, 253)), draw(st.booleans())) for n in script_names]
    return VrrpInstance(
        name=name, interface=draw(st.sampled_from(["eth0", "eth1"])), virtual_router_id=vrid,
        state=draw(st.none() | st.sampled_from(["MASTER", "BACKUP"])), priority=draw(st.integers(1, 254)),
        advert_int=float(draw(st.integers(1, 255))) if v2 else draw(centis), version=version,
        nopreempt=draw(st.booleans()), preempt_delay=float(draw(st.integers(0, 1000))),
        auth_type="PASS" if auth else None,
        auth_pass=draw(st.from_regex(r"[A-Za-z0-9]{1,8}", fullmatch=True)) if auth else None,
        virtual_ipaddress=tuple(vip_list),
        track_interface=tuple(draw(st.lists(st.builds(TrackRef, st.sampled_from(["eth1", "eth2"]),
                                                      st.none() | st.integers(-254, 254)),
                                            max_size=2, unique_by=lambda r: r.name))),
        track_script=tuple(refs),
        unicast_src_ip=draw(st.none() | addrs),
        unicast_peer=tuple(UnicastPeer(a) for a in
                           draw(st.lists(addrs, max_size=2, unique=True))),
        garp_master_delay=draw(st.none() | st.integers(0, 255)),
        garp_master_refresh=draw(st.none() | st.integers(0, 3600)),
        notify=draw(notifies), smtp_alert=draw(st.none() | st.booleans()),
    )


timings = st.builds(Timing, connect_timeout=st.none() | timers, retry=st.none() | st.integers(0, 10),
                    delay_before_retry=st.none() | timers, warmup=st.none() | timers,
                    delay_loop=st.none() | timers, inhibit_on_failure=st.none() | st.booleans(),
                    alpha=st.none() | st.booleans(), virtualhost=st.none() | st.just("www.example.org"))
urls = st.builds(Url, path=st.from_regex(r"/[a-z0-9/._-]{0,12}", fullmatch=True),
                 digest=st.none() | st.from_regex(r"[0-9a-f]{32}", fullmatch=True),
                 status_code=st.lists(st.tuples(st.integers(100, 299), st.integers(0, 100)).map(
                     lambda t: (t[0], t[0] + t[1])), max_size=2).map(tuple),
                 virtualhost=st.none() | st.just("example.org"))
def hex_bytes(wildcard: bool):
    """Canonical hex patterns: two characters a byte, lower case, spaces between."""
    nibble = st.sampled_from("0123456789abcdef" + ("x" if wildcard else ""))
    return st.lists(st.tuples(nibble, nibble).map("".join), min_size=1, max_size=6).map(" ".join)


common = {"connect_port": st.none() | st.integers(1, 65535), "connect_timeout": st.none() | timers,
          "retry": st.none() | st.integers(0, 5), "delay_before_retry": st.none() | timers,
          "delay_loop": st.none() | timers}
checkers = st.one_of(
    st.builds(TcpCheck, **common), st.builds(PingCheck, **common),
    st.builds(HttpCheck, kind=st.sampled_from(["HTTP_GET", "SSL_GET"]),
              url=st.lists(urls, min_size=1, max_size=2).map(tuple), **common),
    st.builds(SmtpCheck, helo_name=st.none() | st.just("lb.example.org"), **common,
              hosts=st.lists(st.builds(SmtpHost, connect_ip=st.none() | v4, connect_port=st.none() | st.integers(1, 65535),
                                       connect_timeout=st.none() | timers), max_size=2).map(tuple)),
    st.builds(UdpCheck, payload=st.none() | hex_bytes(False), require_reply=st.none() | st.just("") | hex_bytes(True),
              max_reply_length=st.integers(0, 65535), **common),
    st.builds(DnsCheck, type=st.sampled_from(["A", "SOA", "AAAA"]), name=st.sampled_from([".", "example.org"]), **common),
    st.builds(MiscCheck, misc_path=scripts.map(lambda s: Script(s.argv)), misc_dynamic=st.booleans(),
              misc_timeout=st.none() | timers),
)


@st.composite
def virtual_servers(draw, port: int) -> VirtualServer:
    addrs = draw(st.sampled_from([v4, v6]))
    method = draw(st.sampled_from(["NAT", "DR", "TUN"]))
    rs_addrs = draw(st.lists(addrs, min_size=0, max_size=3, unique=True))
    reals = tuple(RealServer(a, draw(st.integers(1, 65535)), weight=draw(st.integers(0, 100)),
                             notify_up=draw(st.none() | scripts), timing=draw(timings),
                             checkers=tuple(draw(st.lists(checkers, max_size=2)))) for a in rs_addrs)
    return VirtualServer(ip=draw(addrs), port=port, lvs_sched=draw(st.sampled_from(["rr", "wrr", "wlc", "sh", "mh"])),
                         lvs_method=method, protocol=draw(st.sampled_from(["TCP", "UDP", "SCTP"])),
                         persistence_timeout=draw(st.none() | st.integers(1, 3600)),
                         quorum=draw(st.integers(1, 10)), hysteresis=draw(st.integers(0, 3)),
                         sorry_server=draw(st.none() | st.builds(SorryServer, addrs, st.integers(1, 65535))),
                         timing=draw(timings), real_servers=reals)


@st.composite
def configs(draw) -> Config:
    script_names = draw(st.lists(names, max_size=3, unique=True))
    vrrp_scripts = {n: VrrpScript(n, draw(scripts), interval=draw(timers), weight=draw(st.integers(-253, 253)),
                                  rise=draw(st.integers(1, 5)), fall=draw(st.integers(1, 5)),
                                  init_fail=draw(st.booleans())) for n in script_names}
    inst_names = draw(st.lists(names, max_size=3, unique=True))
    insts = {n: draw(instances(n, i + 1, script_names)) for i, n in enumerate(inst_names)}
    groups = {}
    if len(inst_names) >= 2 and draw(st.booleans()):
        groups["n_group"] = VrrpSyncGroup("n_group", tuple(inst_names[:2]), notify=draw(notifies))
    gd = GlobalDefs(router_id=draw(st.none() | names), notification_email=tuple(draw(st.lists(
        st.just("ops@example.org"), max_size=1))), smtp_server=draw(st.none() | st.just("192.0.2.25")),
        vrrp_version=draw(st.sampled_from([2, 3])), vrrp_garp_master_delay=draw(st.integers(0, 10)))
    if gd.vrrp_version == 3:  # v3 has no authentication and needs centisecond intervals
        for inst in insts.values():
            inst.auth_type = inst.auth_pass = None
            if inst.version is None and inst.advert_int > 40.95:
                inst.advert_int = 1.0
    ports = draw(st.lists(st.integers(1, 65535), max_size=3, unique=True))
    return Config(global_defs=gd, vrrp_scripts=vrrp_scripts, vrrp_instances=insts, vrrp_sync_groups=groups,
                  virtual_servers=tuple(draw(virtual_servers(p)) for p in ports))
