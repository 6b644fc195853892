"""Log output of an Orbit process: one line per record, with the structured fields the runtime
attaches (controller, kind, namespace, object_name, reconcile_id) kept, as ``key=value`` text
for people or as JSON lines for a log pipeline (``ORBIT_LOG_FORMAT=json``)."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

FIELDS = ("controller", "kind", "namespace", "object_name", "reconcile_id")
# Libraries that log every request URL (httpx at INFO: each AccessPoint request) or every SQL
# statement with its parameters (aiosqlite at DEBUG: sealed secrets, cluster tokens): warnings
# only, whatever the level.
QUIET = ("httpx", "httpcore", "aiosqlite")


def _fields(record: logging.LogRecord) -> dict[str, str]:
    return {k: str(v) for k in FIELDS if (v := getattr(record, k, None)) not in (None, "")}


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        stamp = datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]
        extra = " ".join(f"{k}={v}" for k, v in _fields(record).items())
        line = f"{stamp}Z {record.levelname:<7} {record.name}: {record.getMessage()}"
        line = f"{line}  {extra}" if extra else line
        if record.exc_info:
            line = f"{line}\n{self.formatException(record.exc_info)}"
        return line


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        doc = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **_fields(record),
        }
        if record.exc_info:
            doc["exception"] = self.formatException(record.exc_info)
        return json.dumps(doc)


def configure(level: str, *, fmt: str = "text") -> None:
    """Send every record at ``level`` or above to stderr in the chosen format."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
