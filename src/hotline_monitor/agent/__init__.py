# The configuration models import the `spool` and `mqtt` section models from
# this package; loading the configuration package first keeps an import that
# starts here (`import hotline_monitor.agent.spool_config`) from meeting
# `config.model` half-initialised.
import hotline_monitor.config  # noqa: E402, F401
