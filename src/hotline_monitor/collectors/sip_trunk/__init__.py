"""SIP trunk keep-alive: OPTIONS probes over UDP, TCP or TLS (RFC 3261)."""
