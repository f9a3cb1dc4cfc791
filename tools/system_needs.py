"""Which Debian packages the code needs: the programs it runs, found by reading it.

    python3 tools/system_needs.py        # program -> package -> first place it is run

tests/unit/test_system_packages.py compares the result with .ci/apt-packages
(what tools/system-deps.sh installs). The scan reads:
- Python (AST): the command word of argv lists (the first string, after any
  *prefix; inside `ip netns exec`, nsenter, unshare, setpriv, env, sh -c: the
  programs they start), the first word of `.ssh(host, "text")` commands,
  shutil.which("x"), create_subprocess_exec("x", ...);
- shell (*.sh, .ci/run, Makefile recipes, Ansible `cmd`/`command`/`shell`
  values, systemd `ExecStart=` lines): the first word of every command;
- everything: absolute program paths (/usr/sbin/keepalived, /sbin/ip, ...).
A word counts as a program when NEEDS names it or an executable of that name
is in /usr/sbin, /usr/bin, /sbin or /bin. Programs of packages every Debian 12
has (Essential or Priority: required: coreutils, util-linux, mount, ...) need
no entry; any other program needs one in NEEDS (the test says which).
"""

from __future__ import annotations

import ast
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
APT_LIST = REPO / ".ci" / "apt-packages"
# The code the two commands run (the daemon runs on the lab's hosts, whose /usr
# is this machine's).
SCANNED = ("daemon/src", "lab", "tools", "tests", "bench", "roles", "extensions", "examples",
           "Makefile", ".ci/run")
SKIPPED_DIRS = {"__pycache__", "output", ".pytest_cache", ".hypothesis"}
# The scan's own tables and tests name programs without running them.
SKIPPED_FILES = {"tools/system_needs.py", "tests/unit/test_system_packages.py"}
TEXT_SUFFIXES = {".py", ".sh", ".yml", ".yaml", ".j2", ".service", ".conf", ".cfg", ".ini", ".txt", ""}
BIN_DIRS = ("/usr/sbin", "/usr/bin", "/sbin", "/bin")

# Program (or `python3 -m MODULE`) -> the Debian package that brings it, for
# every program the code runs whose package is not on every Debian 12 system.
# The test cross-checks each with `dpkg -S` (the owner must be the package or
# one of its direct dependencies) where the program is installed.
NEEDS: dict[str, str] = {
    "ip": "iproute2",
    "ss": "iproute2",
    "sysctl": "procps",
    "kill": "procps",
    "pgrep": "procps",
    "modprobe": "kmod",
    "insmod": "kmod",
    "systemd": "systemd",
    "systemctl": "systemd",
    "journalctl": "systemd",
    "poweroff": "systemd-sysv",
    "ssh.service": "openssh-server",
    "ssh": "openssh-client",
    "ssh-keygen": "openssh-client",
    "nc": "netcat-openbsd",
    "debootstrap": "debootstrap",
    "keepalived": "keepalived",
    "ipvsadm": "ipvsadm",
    "tcpdump": "tcpdump",
    "strace": "strace",
    "ping": "iputils-ping",
    "nft": "nftables",
    "conntrack": "conntrack",
    "shellcheck": "shellcheck",
    "python3": "python3",
    "python3 -m venv": "python3-venv",
    "make": "make",
    "git": "git",
}
# Where to ask dpkg about a NEEDS entry that is not a program on PATH.
PROBE_PATHS = {"python3 -m venv": "/usr/lib/python3.11/ensurepip/__init__.py", "systemd": "/lib/systemd/systemd",
               "ssh.service": "/lib/systemd/system/ssh.service"}

# Commands that run the program named in their arguments (`ip` only as `ip netns exec NS`).
WRAPPERS = {"ip", "nsenter", "unshare", "setpriv", "env", "exec", "command", "sudo", "timeout", "nohup",
            "xargs", "chroot"}
# Options of those wrappers that take a value as the next word.
VALUE_OPTIONS = {"-t", "--target", "--propagation", "-u", "--unset", "--bounding-set", "--reuid", "--regid",
                 "--inh-caps", "-S", "--setuid", "-G", "--setgid", "-w", "--wd", "-C", "--chdir", "-k",
                 "--kill-after", "-s", "--signal", "-I", "-d", "--delimiter", "-n", "--max-args"}
SHELL_WORDS = {"if", "then", "else", "elif", "fi", "for", "while", "until", "do", "done", "case", "esac",
               "in", "!", "{", "}", "function", "local", "export", "readonly", "declare", "return"}
ABS_PROGRAM = re.compile(r"(?<![\w./${}()-])/(?:usr/)?s?bin/([A-Za-z0-9][\w.+-]*)"
                         r"|(?<![\w./-])/lib/systemd/(systemd)\b"
                         r"|(?<![\w./-])/lib/systemd/system/([\w@-]+\.service)\b")
VENV_MODULE = re.compile(r"\s-m,?\s+venv\b")  # `python3 -m venv`, YAML argv `[python, -m, venv, ...]`
YAML_COMMAND = re.compile(r"^(\s*)(?:- )?(?:ansible\.builtin\.)?(?:cmd|command|shell):\s*(.*)$")
HEREDOC = re.compile(r"<<-?\s*['\"]?(\w+)")
SHELL_SPLIT = re.compile(r"\|\||&&|[;|&()`\n]|\$\(|\bthen\b|\bdo\b|\belse\b")


@dataclass(frozen=True)
class Use:
    program: str
    where: str  # FILE:LINE


def _files() -> list[Path]:
    found = []
    for top in SCANNED:
        path = REPO / top
        if path.is_file():
            found.append(path)
            continue
        for dirpath, dirnames, filenames in os.walk(path):
            dirnames[:] = sorted(d for d in dirnames if d not in SKIPPED_DIRS and not d.startswith("."))
            found.extend(Path(dirpath, f) for f in sorted(filenames) if Path(f).suffix in TEXT_SUFFIXES)
    return found


def _is_shell(path: Path, text: str) -> bool:
    return path.suffix == ".sh" or text.startswith(("#!/bin/sh", "#!/usr/bin/env bash", "#!/bin/bash"))


# --- shell -------------------------------------------------------------------------

def _words(segment: str) -> list[str]:
    try:
        return shlex.split(segment, comments=True)
    except ValueError:  # an unbalanced quote split over segments
        return segment.split()


def _wrapped(words: list[str]) -> list[str]:
    """The programs a wrapper command starts (after its options, their values and NAME=VALUE words)."""
    first = os.path.basename(words[0])
    if first == "ip":
        return _command_words(words[4:]) if words[1:3] == ["netns", "exec"] else []
    if first in ("sh", "bash") and "-c" in words[1:-1]:
        return [w for _line, w in shell_programs(words[words.index("-c") + 1])]
    if first not in WRAPPERS:
        return []
    rest = words[1:]
    if first == "timeout":  # timeout [OPTION] DURATION COMMAND
        rest = [w for w in rest if not w.startswith("-")][1:]
    while rest and (rest[0].startswith("-") or "=" in rest[0]):
        rest = rest[2:] if rest[0] in VALUE_OPTIONS else rest[1:]
    return _command_words(rest)


def _command_words(words: list[str]) -> list[str]:
    """The program of a simple command, and the programs a wrapper in it starts."""
    words = [w for w in words if w]
    if words and words[0] in ("for", "case", "select"):
        return []
    while words and (words[0] in SHELL_WORDS or re.match(r"^\w+=", words[0])):
        words = words[1:]
    return [words[0], *_wrapped(words)] if words else []


def shell_programs(script: str) -> list[tuple[int, str]]:
    """(line offset, word) for every command word of a shell script (approximate, no expansion).

    Here-document bodies are data (a Python script, a unit file), not commands.
    """
    found = []
    heredoc_end = None
    for lineno, line in enumerate(script.splitlines()):
        line = line.strip()
        if heredoc_end is not None:
            heredoc_end = None if line == heredoc_end else heredoc_end
            continue
        if not line or line.startswith("#"):
            continue
        if m := HEREDOC.search(line):
            heredoc_end = m.group(1)
        for segment in SHELL_SPLIT.split(line):
            found.extend((lineno, w) for w in _command_words(_words(segment)))
    return found


# --- Python ------------------------------------------------------------------------

def _const(node: ast.AST) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _argv_programs(elts: list[ast.expr]) -> list[str]:
    """Programs of an argv literal: its first string (after any *prefix) and what a wrapper starts."""
    i = 0
    while i < len(elts) and isinstance(elts[i], ast.Starred):
        i += 1
    words = [_const(e) or "" for e in elts[i:]]
    return [words[0], *_wrapped(words)] if words and words[0] else []


def _text(node: ast.AST) -> str | None:
    """A str constant, or an f-string with each {value} as X."""
    if isinstance(node, ast.JoinedStr):
        return "".join(_const(v) if _const(v) is not None else "X" for v in node.values)
    return _const(node)


def python_programs(source: str) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    tree = ast.parse(source)
    # A list compared with something (argv[:1] == ["genhash"]) is data, not a command.
    compared = {id(n) for c in ast.walk(tree) if isinstance(c, ast.Compare) for n in [c.left, *c.comparators]}
    for node in ast.walk(tree):
        if isinstance(node, (ast.List, ast.Tuple)) and id(node) not in compared:
            found.extend((node.lineno, p) for p in _argv_programs(node.elts))
        elif isinstance(node, (ast.Constant, ast.JoinedStr)):
            text = _text(node)  # shell command lines kept as text: ProxyCommand ip netns exec NS nc %h %p
            if text and text.startswith("ip netns exec "):
                found.extend((node.lineno + n, w) for n, w in shell_programs(text))
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            args = [_const(a) for a in node.args]
            if name in ("which", "create_subprocess_exec", "execvp") and args and args[0]:
                found.append((node.lineno, args[0]))
            elif name == "ssh" and len(args) > 1 and args[1]:
                found.extend((node.lineno + n, w) for n, w in shell_programs(args[1]))
    return found


# --- other files ---------------------------------------------------------------------

def yaml_programs(text: str) -> list[tuple[int, str]]:
    """Command words of Ansible command/shell tasks (inline or as a block scalar)."""
    lines = text.splitlines()
    found = []
    for n, line in enumerate(lines):
        m = YAML_COMMAND.match(line)
        if not m:
            continue
        value = m.group(2).strip()
        if value in ("", "|", ">", "|-", ">-"):
            block = []
            for follow in lines[n + 1:]:
                if follow.strip() and len(follow) - len(follow.lstrip()) <= len(m.group(1)):
                    break
                block.append(follow)
            script = "\n".join(block) if value.startswith("|") else " ".join(b.strip() for b in block)
            found.extend((n + 1 + off, w) for off, w in shell_programs(script))
        elif not value.startswith(("{", "[")):
            found.extend((n, w) for _line, w in shell_programs(value.strip("'\"")))
    return found


def makefile_programs(text: str) -> list[tuple[int, str]]:
    """Command words of recipe lines; a $(VAR) stays its name (no binary is called PYTHON)."""
    found = []
    for n, line in enumerate(text.splitlines()):
        if line.startswith("\t"):
            line = re.sub(r"\$[({](\w+)[)}]", r"\1", line.strip().lstrip("@-"))
            found.extend((n, w) for _line, w in shell_programs(line))
    return found


def uses() -> list[Use]:
    """Every place a program is run, in file order."""
    result: list[Use] = []
    for path in _files():
        if path.relative_to(REPO).as_posix() in SKIPPED_FILES:
            continue
        text = path.read_text(errors="replace")
        rel = path.relative_to(REPO).as_posix()
        found: list[tuple[int, str]] = []
        if path.suffix == ".py":
            found += [(n - 1, w) for n, w in python_programs(text)]
        elif _is_shell(path, text):
            found += shell_programs(text)
        elif path.name == "Makefile":
            found += makefile_programs(text)
            text = re.sub(r"\$[({](\w+)[)}]", r"\1", text)
        elif path.suffix in (".yml", ".yaml"):
            found += yaml_programs(text)
        for n, line in enumerate(text.splitlines()):
            if line.lstrip().startswith("ExecStart"):
                found += [(n, w) for _line, w in shell_programs(line.split("=", 1)[1].lstrip("-@+!"))]
            found += [(n, next(filter(None, groups))) for groups in ABS_PROGRAM.findall(line)]
            if VENV_MODULE.search(line):
                found.append((n, "python3 -m venv"))
        result.extend(Use(os.path.basename(w) if w.startswith("/") else w, f"{rel}:{n + 1}")
                      for n, w in sorted(set(found)))
    return result


# --- packages ------------------------------------------------------------------------

def program_path(program: str) -> str | None:
    if program in PROBE_PATHS:
        return PROBE_PATHS[program] if os.path.exists(PROBE_PATHS[program]) else None
    if "/" in program or " " in program:
        return None
    for d in BIN_DIRS:
        path = os.path.join(d, program)
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return None


def _usr_merged(path: str) -> str:
    return path.removeprefix("/usr") if path.startswith("/usr/") else "/usr" + path


def dpkg_owners(paths: list[str]) -> dict[str, str]:
    """path -> owning package, by `dpkg-query -S`: the path as named, else without or with /usr
    (usr-merge), else the file a symlink (an alternative) points to."""
    candidates = {p: [p, _usr_merged(p), os.path.realpath(p), _usr_merged(os.path.realpath(p))] for p in paths}
    queried = sorted({c for cs in candidates.values() for c in cs})
    out = subprocess.run(["dpkg-query", "-S", *queried], capture_output=True, text=True, check=False).stdout
    owner_of = {}
    for line in out.splitlines():
        if line.startswith("diversion ") or ": " not in line:
            continue
        pkgs, path = line.split(": ", 1)
        owner_of[path] = pkgs.split(",")[0].split(":")[0].strip()
    return {p: next(owner_of[c] for c in cs if c in owner_of) for p, cs in candidates.items()
            if any(c in owner_of for c in cs)}


def package_fields(packages: set[str]) -> dict[str, dict[str, str]]:
    """Essential, Priority and (Pre-)Depends of installed packages, from dpkg."""
    fmt = "${Package}\t${Essential}\t${Priority}\t${Pre-Depends}, ${Depends}\n"
    out = subprocess.run(["dpkg-query", "-W", "-f", fmt, *sorted(packages)], capture_output=True, text=True,
                         check=False).stdout
    fields = {}
    for line in out.splitlines():
        name, essential, priority, depends = (line.split("\t") + ["", "", ""])[:4]
        deps = {d.strip().split()[0].split(":")[0] for alt in depends.split(",") for d in alt.split("|") if d.strip()}
        fields[name] = {"essential": essential, "priority": priority, "depends": deps}
    return fields


def always_installed(fields: dict[str, object]) -> bool:
    """Essential or Priority: required: on every Debian 12 system (debootstrap's minbase)."""
    return fields.get("essential") == "yes" or fields.get("priority") == "required"


def apt_packages() -> list[str]:
    return [w for line in APT_LIST.read_text().splitlines() for w in line.split("#", 1)[0].split()]


def main() -> int:
    seen: dict[str, Use] = {}
    for use in uses():
        seen.setdefault(use.program, use)
    paths = {p: path for p in seen if p not in NEEDS and (path := program_path(p))}
    owners = dpkg_owners(list(paths.values()))
    for program, use in sorted(seen.items()):
        if program in NEEDS:
            print(f"{program:18} {NEEDS[program]:16} {use.where}")
        elif program in paths:
            print(f"{program:18} {'(' + owners.get(paths[program], '?') + ')':16} {use.where}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
