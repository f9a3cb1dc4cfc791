"""A real UDP server for the checker lab: ``udp_server.py HOST PORT echo|upper|silent``.

echo answers each datagram with itself, upper with itself upper-cased, silent never answers.
Prints "ready" once bound.
"""

import socket
import sys

host, port, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.bind((host, port))
print("ready", flush=True)
while True:
    data, peer = sock.recvfrom(65536)
    if mode == "echo":
        sock.sendto(data, peer)
    elif mode == "upper":
        sock.sendto(data.upper(), peer)
