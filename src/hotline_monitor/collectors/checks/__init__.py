"""Service checks made from the agent: TCP connect, HTTP(S) with certificate expiry, ICMP ping."""
