"""UPS polling over SNMP with the RFC 1628 UPS-MIB.

Modules by role: `ber` (message codec), `client` (v1/v2c), `client_usm`
(v3 with USM), `walk` (one-request reads and table walks), `oids` (what is read), `normalise` (units and
unknown values), `profiles` (vendor quirks), `interpret` (raw to fields) and
`collector` (the Collector the agent schedules).
"""
