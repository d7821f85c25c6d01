"""SNMP notification receiver: UPS traps turned into readings within a second."""
