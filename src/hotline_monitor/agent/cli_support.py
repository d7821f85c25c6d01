"""Helpers shared by the command modules."""

from __future__ import annotations

import argparse
import logging
import sys

from hotline_monitor.config.model import Config


def setup_logging_for(config: Config, args: argparse.Namespace) -> None:
    """Configure logging from the config's `log_level`, or DEBUG with `-v`."""
    level = "DEBUG" if getattr(args, "verbose", False) else config.log_level.upper()
    logging.basicConfig(
        level=getattr(logging, level),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # APScheduler logs every job run at INFO; keep its warnings (skipped runs).
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    # httpx logs every request at INFO: one line a second per sink is noise, errors stay.
    logging.getLogger("httpx").setLevel(logging.WARNING)
