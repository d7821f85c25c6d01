"""UPS polling over SNMP with the RFC 1628 UPS-MIB.

Modules by role: `ber` and `client` (v1/v2c), `client_v3` (v3 through
pysnmp), `walk` (table walks), `oids` (what is read), `normalise` (units and
unknown values), `profiles` (vendor quirks), `interpret` (raw to fields) and
`collector` (the Collector the agent schedules).
"""
