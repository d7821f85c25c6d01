"""The project's exception tree.

    HotlineError
    ├── ConfigError            bad configuration or input; the CLI exits 2
    ├── StartupError           a folder, file or port could not be opened; the CLI exits 1
    ├── CollectorError         a poll failed
    │   ├── DeviceUnreachable  timeout or refused connection: retry next poll
    │   └── DeviceAuthError    wrong community or credentials: retrying will not help
    ├── SinkError              a write to a sink failed
    │   ├── SinkUnavailable    the server is away or overloaded: retry later
    │   └── SinkRejected       the server refuses the data for good (HTTP 4xx)
    └── DeliveryError          a message could not be handed to a provider
        ├── DeliveryRetry      rate limit, timeout, 5xx: try the same channel later
        └── DeliveryRejected   invalid key, invalid number: the channel will not take it

Errors from pysnmp, pymodbus, httpx and influxdb-client are translated into
these at the library boundary. Messages shown to people are Chinese.
"""

from __future__ import annotations

import errno


class HotlineError(Exception):
    """Base of every error this project raises on purpose."""


class ConfigError(HotlineError):
    """Invalid configuration or command-line input; carries every problem found."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


class StartupError(HotlineError):
    """A folder, file or port the program needs could not be opened at start."""


# Chinese reasons for the OS errors a technician meets at start; others keep strerror.
_OS_ERROR_REASONS = {
    errno.EACCES: "没有权限",
    errno.EPERM: "操作不被允许",
    errno.ENOENT: "路径不存在",
    errno.ENOTDIR: "路径中有一段不是目录",
    errno.EROFS: "文件系统只读",
    errno.ENOSPC: "磁盘空间不足",
    errno.EADDRINUSE: "端口已被其他程序占用",
    errno.EADDRNOTAVAIL: "本机没有这个地址",
}


def describe_os_error(err: OSError) -> str:
    """Return a Chinese description of an OSError: the path when known, the reason, errno."""
    reason = _OS_ERROR_REASONS.get(err.errno, err.strerror or str(err))
    where = f"{err.filename}：" if err.filename else ""
    return f"{where}{reason}（errno {err.errno}）"


class CollectorError(HotlineError):
    """A poll of one target failed."""


class DeviceUnreachable(CollectorError):
    """The device did not answer in time or refused the connection."""


class DeviceAuthError(CollectorError):
    """The device rejected our credentials; polling again will not help."""


class SinkError(HotlineError):
    """A write to a sink failed."""


class SinkUnavailable(SinkError):
    """The sink could not be reached or answered 5xx; the write may be retried."""


class SinkRejected(SinkError):
    """The sink refused the data for good (for example a field type conflict)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        self.status = status
        super().__init__(message)


class DeliveryError(HotlineError):
    """A channel could not deliver a message; the text is Chinese and free of secrets."""


class DeliveryRetry(DeliveryError):
    """The provider may accept the message later (rate limit, timeout, HTTP 5xx).

    `outcome_unknown` is set when the request may have reached the provider
    (a read timeout, a dropped connection, a 5xx), so a retry is marked 重发.
    """

    def __init__(self, message: str, retry_after: float | None = None,
                 outcome_unknown: bool = False) -> None:
        self.retry_after = retry_after
        self.outcome_unknown = outcome_unknown
        super().__init__(message)


class DeliveryRejected(DeliveryError):
    """The provider refuses the message for good; the fallback channel takes over.

    `operator_alert` is set when the channel itself is broken (an invalid robot
    key or SDK key), so the operator is told through another channel.
    """

    def __init__(self, message: str, operator_alert: bool = False) -> None:
        self.operator_alert = operator_alert
        super().__init__(message)
