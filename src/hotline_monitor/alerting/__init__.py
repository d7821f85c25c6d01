"""Rules, alert state, escalation and on-call, the interruption clock."""

# The configuration model imports this package's section models. Loading the
# configuration package first keeps `import hotline_monitor.alerting.x` from
# entering that cycle halfway.
import hotline_monitor.config  # noqa: F401
