"""UPS polling over SNMP with the RFC 1628 UPS-MIB.

Transport modules: `ber` (message codec), `client` (v1/v2c), `client_usm`
(v3 with USM) and `walk` (one-request reads and table walks). Data modules:
`oids` (what is read), `normalise` (units and unknown values), `profiles`
(vendor quirks) and `interpret` (raw values to fields). `collector` is the
Collector the agent schedules.
"""
