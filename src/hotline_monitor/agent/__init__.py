# The configuration models import the `spool` and `mqtt` section models from
# this package. Loading the configuration package first keeps an import that
# starts here (`import hotline_monitor.agent.spool_config`) from finding
# `config.model` half-initialised.
import hotline_monitor.config  # noqa: E402, F401
