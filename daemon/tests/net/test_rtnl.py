"""rtnetlink address requests: byte vectors (netlink(7), rtnetlink(7)) and ack parsing."""
from __future__ import annotations

import errno
import socket
import struct

from pykeepalived.net.rtnl import encode_address, parse_acks, with_sequence


def nlmsghdr(length: int, kind: int, flags: int, seq: int = 0) -> bytes:
    return struct.pack("=IHHII", length, kind, flags, seq, 0)


def rtattr(kind: int, payload: bytes) -> bytes:
    data = struct.pack("=HH", 4 + len(payload), kind) + payload
    return data + b"\0" * (-len(data) % 4)


RTM_NEWADDR, RTM_DELADDR = 20, 21
REQUEST_ACK = 0x1 | 0x4
CREATE_EXCL = 0x400 | 0x200
IFA_ADDRESS, IFA_LOCAL, IFA_LABEL, IFA_BROADCAST = 1, 2, 3, 4


def test_ipv4_add_with_label_and_broadcast() -> None:
    vip = bytes([192, 0, 2, 10])
    body = (struct.pack("=BBBBI", socket.AF_INET, 24, 0, 0, 3)  # ifaddrmsg: family, prefixlen, flags, scope, index
            + rtattr(IFA_ADDRESS, vip) + rtattr(IFA_LOCAL, vip)
            + rtattr(IFA_LABEL, b"eth0:1\0") + rtattr(IFA_BROADCAST, bytes([192, 0, 2, 255])))
    expected = nlmsghdr(16 + len(body), RTM_NEWADDR, REQUEST_ACK | CREATE_EXCL) + body
    got = encode_address(True, socket.AF_INET, 3, "192.0.2.10", 24, label="eth0:1", broadcast="192.0.2.255")
    assert got == expected
    assert len(got) == 60


def test_ipv6_add_skips_dad_and_has_no_local() -> None:
    # flags 0x02: IFA_F_NODAD (linux/if_addr.h; 0x80 is IFA_F_PERMANENT)
    body = struct.pack("=BBBBI", socket.AF_INET6, 64, 0x02, 0, 3) + rtattr(
        IFA_ADDRESS, socket.inet_pton(socket.AF_INET6, "2001:db8::10"))
    assert encode_address(True, socket.AF_INET6, 3, "2001:db8::10", 64) == \
        nlmsghdr(16 + len(body), RTM_NEWADDR, REQUEST_ACK | CREATE_EXCL) + body


def test_scope_is_carried() -> None:
    got = encode_address(True, socket.AF_INET, 7, "192.0.2.10", 32, scope=254)
    assert got[16:24] == struct.pack("=BBBBI", socket.AF_INET, 32, 0, 254, 7)


def test_delete_is_neither_create_nor_exclusive() -> None:
    vip = bytes([192, 0, 2, 10])
    body = struct.pack("=BBBBI", socket.AF_INET, 24, 0, 0, 3) + rtattr(IFA_ADDRESS, vip) + rtattr(IFA_LOCAL, vip)
    assert encode_address(False, socket.AF_INET, 3, "192.0.2.10", 24) == \
        nlmsghdr(16 + len(body), RTM_DELADDR, REQUEST_ACK) + body


def test_sequence_is_patched_in_place() -> None:
    message = encode_address(True, socket.AF_INET, 3, "192.0.2.10", 24)
    patched = with_sequence(message, 0x01020304)
    assert struct.unpack_from("=I", patched, 8)[0] == 0x01020304
    assert patched[:8] == message[:8] and patched[12:] == message[12:]


def ack(seq: int, error: int, request: bytes = b"") -> bytes:
    payload = struct.pack("=i", -error) + (request or nlmsghdr(16, RTM_NEWADDR, 5, seq))
    return nlmsghdr(16 + len(payload), 2, 0x100, seq) + payload


def test_acks_map_sequence_to_errno() -> None:
    data = ack(7, 0) + ack(8, errno.EEXIST) + ack(9, errno.ENODEV)
    assert parse_acks(data) == {7: 0, 8: errno.EEXIST, 9: errno.ENODEV}


def test_non_error_messages_and_garbage_are_ignored() -> None:
    done = nlmsghdr(20, 3, 0, 5) + b"\0" * 4  # NLMSG_DONE
    assert parse_acks(done + ack(6, 0)) == {6: 0}
    assert parse_acks(b"\x01\x00") == {}
    assert parse_acks(nlmsghdr(4, 2, 0, 1)) == {}  # a length shorter than a header stops the walk


def test_requests_match_pyroute2s_own_encoder() -> None:
    """The VRRP process does not import pyroute2 (memory); its requests are what pyroute2 would send."""
    from pyroute2.netlink.rtnl.ifaddrmsg import IFA_F_NODAD, ifaddrmsg

    def theirs(add: bool, family: int, address: str, prefixlen: int, **attrs) -> bytes:
        msg = ifaddrmsg()
        msg["family"], msg["prefixlen"], msg["index"], msg["scope"] = family, prefixlen, 4, attrs.pop("scope", 0)
        msg["flags"] = IFA_F_NODAD if add and family == socket.AF_INET6 else 0
        msg["attrs"] = [("IFA_ADDRESS", address)] + ([("IFA_LOCAL", address)] if family == socket.AF_INET else []) \
            + [(f"IFA_{k.upper()}", v) for k, v in attrs.items()]
        msg["header"]["type"] = RTM_NEWADDR if add else RTM_DELADDR
        msg["header"]["flags"] = REQUEST_ACK | (CREATE_EXCL if add else 0)
        msg.encode()
        return bytes(msg.data)

    assert encode_address(True, socket.AF_INET, 4, "192.0.2.7", 24, scope=253, label="eth0:v",
                          broadcast="192.0.2.255") == theirs(True, socket.AF_INET, "192.0.2.7", 24, scope=253,
                                                             label="eth0:v", broadcast="192.0.2.255")
    assert encode_address(True, socket.AF_INET6, 4, "2001:db8::7", 64) == theirs(True, socket.AF_INET6, "2001:db8::7", 64)
    assert encode_address(False, socket.AF_INET, 4, "192.0.2.7", 24) == theirs(False, socket.AF_INET, "192.0.2.7", 24)


def test_address_and_link_dumps_parse() -> None:
    from pykeepalived.net.rtnl import Address, Link, parse_addresses, parse_links

    v4 = encode_address(True, socket.AF_INET, 3, "192.0.2.10", 24)  # an RTM_NEWADDR is what a dump returns
    v6 = encode_address(True, socket.AF_INET6, 3, "2001:db8::10", 64)
    ptp = nlmsghdr(16 + 8 + 16, RTM_NEWADDR, 2) + struct.pack("=BBBBI", socket.AF_INET, 32, 0, 0, 5) \
        + rtattr(IFA_ADDRESS, bytes([198, 51, 100, 2])) + rtattr(IFA_LOCAL, bytes([198, 51, 100, 1]))
    got = parse_addresses(v4 + v6 + ptp + nlmsghdr(20, 3, 2) + b"\0" * 4)
    assert [(a.index, str(a.interface)) for a in got] == [(3, "192.0.2.10/24"), (3, "2001:db8::10/64"),
                                                          (5, "198.51.100.1/32")]  # IFA_LOCAL: our end
    assert all(isinstance(a, Address) for a in got)
    body = struct.pack("=BxHiII", 0, 1, 9, 0x41, 0) + rtattr(1, bytes.fromhex("02aabbccddee")) + rtattr(3, b"eth7\0")
    link = parse_links(nlmsghdr(16 + len(body), 16, 2) + body)
    assert link == [Link(9, "eth7", 0x41, bytes.fromhex("02aabbccddee"))]
