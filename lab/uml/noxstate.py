"""Exec a program with ptrace's XSTATE regset hidden: ``python -m lab.uml.noxstate PROG ARGS``.

Why: on hosts whose CPUs have AMX, the kernel only accepts a full-size
XSTATE buffer in PTRACE_SETREGSET, and Debian's UML sends a smaller one
("userspace - ptrace set fp regs failed, errno = 14", then a panic).  With
PTRACE_{GET,SET}REGSET(NT_X86_XSTATE) failing with ENODEV, UML falls back to
PTRACE_{GET,SET}FPREGS (the x87/SSE fxsave area), which every x86-64 host takes.
The guest then loses AVX state across context switches, so every guest
process is told not to use AVX (GLIBC_TUNABLES and OPENSSL_ia32cap in guest.py).  The filter is inherited by UML's helper processes.
"""

from __future__ import annotations

import ctypes
import os
import struct
import sys

PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2
AUDIT_ARCH_X86_64 = 0xC000003E
NR_PTRACE = 101
PTRACE_GETREGSET, PTRACE_SETREGSET = 0x4204, 0x4205
NT_X86_XSTATE = 0x202
RET_ALLOW = 0x7FFF0000
RET_ENODEV = 0x00050000 | 19  # SECCOMP_RET_ERRNO | ENODEV
# classic BPF opcodes
LD_ABS = 0x20  # BPF_LD | BPF_W | BPF_ABS
JEQ = 0x15  # BPF_JMP | BPF_JEQ | BPF_K
RET = 0x06  # BPF_RET | BPF_K


def _insn(code: int, jt: int, jf: int, k: int) -> bytes:
    return struct.pack("HBBI", code, jt, jf, k)


# seccomp_data: nr @0, arch @4, ip @8, args[i] @16+8i (low 32 bits first on x86-64)
PROGRAM = [
    _insn(LD_ABS, 0, 0, 4),
    _insn(JEQ, 0, 7, AUDIT_ARCH_X86_64),   # other arch -> allow
    _insn(LD_ABS, 0, 0, 0),
    _insn(JEQ, 0, 5, NR_PTRACE),           # not ptrace -> allow
    _insn(LD_ABS, 0, 0, 16),
    _insn(JEQ, 1, 0, PTRACE_GETREGSET),
    _insn(JEQ, 0, 2, PTRACE_SETREGSET),    # other requests -> allow
    _insn(LD_ABS, 0, 0, 32),
    _insn(JEQ, 1, 0, NT_X86_XSTATE),
    _insn(RET, 0, 0, RET_ALLOW),
    _insn(RET, 0, 0, RET_ENODEV),
]


def install_filter() -> None:
    code = b"".join(PROGRAM)
    buf = ctypes.create_string_buffer(code, len(code))

    class SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    prog = SockFprog(len(PROGRAM), ctypes.addressof(buf))
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(prog), 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_SECCOMP)")


def main() -> None:
    install_filter()
    os.execv(sys.argv[1], sys.argv[1:])


if __name__ == "__main__":
    main()
