"""The `drills` configuration section: how emergency drills behave at this site."""

from __future__ import annotations

from hotline_monitor.config.types import StrictModel


class DrillsConfig(StrictModel):
    """Settings of `hotline-monitor drill`."""

    notify_bureau: bool = False
    """Send the bureau's outage notices during a drill too (off: they are held back)."""
    speed: float = 10.0
    """Default time factor of a drill's scenario."""
    detection_margin_s: float = 2.0
    """Detection target: within the poll interval plus this margin."""
    notification_target_s: float = 10.0
    """First notification target: within this many seconds of detection."""
