"""Maintenance windows with their notices, outage notices to the bureau, and the SLA ledger."""
