"""Host networking adapters: VIPs over netlink, gratuitous ARP / unsolicited NA, link state.

These modules do I/O (rtnetlink, nftables, AF_PACKET sockets); the frame builders in
``arp`` are pure functions so they can be tested byte for byte.
"""
