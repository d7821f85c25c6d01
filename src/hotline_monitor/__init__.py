"""hotline-monitor: power and telephony monitoring for a 12345 service hotline."""

__version__ = "0.1.0"
