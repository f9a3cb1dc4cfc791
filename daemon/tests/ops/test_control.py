"""Control socket: JSON lines v1, root-only peers, malformed and fuzzed input never stop it."""
from __future__ import annotations

import asyncio
import json
import os
import random
import stat

from pykeepalived.core.client import request
from pykeepalived.core.control import LINE_LIMIT, ControlServer, RequestError, parse_request

from .helpers import ask


async def _handler(req: dict) -> object:
    if req["cmd"] == "status":
        return {"hello": "world"}
    if req["cmd"] == "reload":
        raise RuntimeError("boom")  # a bug in a handler: reported, not fatal
    if req["cmd"] == "drain" and not isinstance(req.get("address"), str):
        raise RequestError("'address' must be a non-empty string")
    return {"cmd": req["cmd"]}


def run(coro):
    return asyncio.run(coro)


def _with_server(tmp_path, body, allowed=None):
    async def main():
        srv = ControlServer(tmp_path, _handler, allowed_uids=allowed or frozenset({0, os.getuid()}))
        await srv.start()
        try:
            return await body(srv)
        finally:
            await srv.stop()
    return run(main())


def test_status_roundtrip_and_mode(tmp_path) -> None:
    async def body(srv):
        assert stat.S_IMODE(os.stat(srv.path).st_mode) == 0o600
        replies = await ask(srv.path, b'{"v": 1, "cmd": "status"}\n', b'{"v":1,"cmd":"drain","address":"x"}\n')
        return replies
    replies = _with_server(tmp_path, body)
    assert replies[0] == {"v": 1, "ok": True, "cmd": "status", "result": {"hello": "world"}}
    assert replies[1]["ok"] and replies[1]["result"] == {"cmd": "drain"}
    assert not (tmp_path / "control.sock").exists()  # removed at stop


def test_blocking_client(tmp_path) -> None:
    async def body(srv):
        return await asyncio.get_running_loop().run_in_executor(None, request, tmp_path, {"cmd": "status"})
    assert _with_server(tmp_path, body)["result"] == {"hello": "world"}


def test_malformed_requests_get_errors(tmp_path) -> None:
    bad = [b"not json\n", b"[1, 2]\n", b'{"cmd": "status"}\n', b'{"v": 2, "cmd": "status"}\n',
           b'{"v": 1, "cmd": "rm -rf"}\n', b"\xff\xfe\n", b'{"v": 1, "cmd": "drain", "address": 3}\n',
           b'{"v": 1, "cmd": "reload"}\n', b'"v"\n', b"null\n"]

    async def body(srv):
        replies = await ask(srv.path, *bad)
        after = await ask(srv.path, b'{"v": 1, "cmd": "status"}\n')
        return replies, after, srv.errors
    replies, after, errors = _with_server(tmp_path, body)
    assert len(replies) == len(bad) and all(r["ok"] is False and r["error"] for r in replies)
    assert "version" in replies[3]["error"] and "unknown command" in replies[4]["error"]
    assert "internal error" in replies[7]["error"]
    assert after[0]["ok"] and errors == len(bad)


def test_overlong_line_closes_with_error(tmp_path) -> None:
    async def body(srv):
        replies = await ask(srv.path, b"{" + b"x" * (LINE_LIMIT + 10) + b"\n", read=2)
        return replies, await ask(srv.path, b'{"v": 1, "cmd": "status"}\n')
    replies, after = _with_server(tmp_path, body)
    assert len(replies) == 1 and "longer than" in replies[0]["error"]
    assert after[0]["ok"]


def test_fuzzed_stream_never_stops_the_server(tmp_path) -> None:
    rng = random.Random(6)
    atoms = [None, True, 1, -1, 2**70, 1.5, "", "status", "drain", "x" * 100, [], {}, [1, {"a": None}]]
    lines = []
    for i in range(400):
        kind = i % 4
        if kind == 0:  # random bytes (no newline)
            lines.append(bytes(rng.randrange(256) for _ in range(rng.randrange(1, 80))).replace(b"\n", b" "))
        elif kind == 1:  # random JSON values
            lines.append(json.dumps(rng.choice(atoms)).encode())
        elif kind == 2:  # well-formed envelope, random fields
            req = {"v": rng.choice([1, 1, 1, 0, "1", None]), "cmd": rng.choice(["status", "drain", "undrain",
                   "set-weight", "wait-drain", "reload", "", None, 7])}
            for key in rng.sample(["address", "port", "weight", "timeout", "virtual_server"], rng.randrange(4)):
                req[key] = rng.choice(atoms)
            lines.append(json.dumps(req).encode())
        else:  # truncated JSON
            text = json.dumps({"v": 1, "cmd": "status", "pad": "y" * rng.randrange(50)}).encode()
            lines.append(text[: rng.randrange(1, len(text))])

    async def body(srv):
        replies = []
        for chunk in range(0, len(lines), 50):  # several connections, 50 lines each
            batch = [ln + b"\n" for ln in lines[chunk:chunk + 50] if ln.strip()]
            replies += await ask(srv.path, *batch)
        # a client that hangs up mid-line, and one that sends nothing
        _, w = await asyncio.open_unix_connection(str(srv.path))
        w.write(b'{"v": 1, "cmd": "sta')
        await w.drain()
        w.close()
        _, w2 = await asyncio.open_unix_connection(str(srv.path))
        w2.close()
        await asyncio.sleep(0.05)
        return replies, await ask(srv.path, b'{"v": 1, "cmd": "status"}\n')
    replies, after = _with_server(tmp_path, body)
    assert len(replies) == sum(1 for ln in lines if ln.strip())
    assert all(set(r) >= {"v", "ok"} for r in replies)
    assert after[0]["ok"] and after[0]["result"] == {"hello": "world"}


def test_other_uid_is_refused(tmp_path) -> None:
    """SO_PEERCRED: a peer whose uid is not allowed gets one error line and the door."""
    async def body(srv):
        replies = await ask(srv.path, b'{"v": 1, "cmd": "status"}\n', read=2)
        return replies, srv.refused
    replies, refused = _with_server(tmp_path, body, allowed=frozenset({os.getuid() + 4242}))
    assert replies == [{"v": 1, "ok": False, "error": "permission denied: root only"}]
    assert refused == 1


def test_parse_request() -> None:
    assert parse_request(b'{"v":1,"cmd":"status"}')["cmd"] == "status"
    for bad in (b"", b"{}", b'{"v":1}', b'{"v":true,"cmd":"status"}'):
        try:
            parse_request(bad)
        except RequestError:
            continue
        raise AssertionError(bad)


def test_stop_with_a_client_connected_logs_nothing(tmp_path) -> None:
    """An idle client and one waiting in a handler when the daemon stops: no asyncio traceback."""
    errors: list[dict] = []

    async def slow(req: dict) -> object:
        await asyncio.sleep(60)

    async def main():
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(lambda _loop, context: errors.append(context))
        srv = ControlServer(tmp_path, slow, allowed_uids=frozenset({0, os.getuid()}))
        await srv.start()
        _idle = await asyncio.open_unix_connection(str(srv.path))
        _r, busy = await asyncio.open_unix_connection(str(srv.path))
        busy.write(b'{"v": 1, "cmd": "status"}\n')
        await busy.drain()
        while srv.requests < 1 or len(srv._clients) < 2:  # both connections are being served
            await asyncio.sleep(0.01)
        await srv.stop()
        for _ in range(3):  # let the streams' done callbacks run
            await asyncio.sleep(0)
    run(main())
    assert errors == []
