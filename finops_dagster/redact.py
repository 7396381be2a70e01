"""Secrets never leave in a message: URLs are shown without their password, query or path.

Database URLs may carry a password (``postgresql+psycopg2://user:secret@host/db``) and webhook
URLs are secrets whole (Slack's path is the token). Every error, log line, ledger row and
metadata value that names a URL goes through ``redact``.
"""

from __future__ import annotations

import re

# scheme://user:password@host -> scheme://user:***@host
_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*://)(?P<user>[^:/@\s]*):(?P<pw>[^/\s]*)@")
# http(s) URLs: keep scheme and host, hide path and query (a webhook's path is its token)
_HTTP = re.compile(r"(?P<base>https?://[^/\s?#'\"]+)(?P<rest>[/?#][^\s'\"]*)?")
# a URL without scheme that looks like a webhook (hooks.slack.com/services/T000/B000/XXXX)
_BARE = re.compile(r"\b(?P<host>(?:[a-z0-9-]+\.)+[a-z]{2,})(?P<rest>/services/[^\s'\"]+|/hooks?/[^\s'\"]+)")


def redact(text: str) -> str:
    """``text`` with every URL password, webhook path and query replaced by ``***``."""
    text = _USERINFO.sub(lambda m: f"{m['scheme']}{m['user']}:***@", text)
    text = _HTTP.sub(lambda m: m["base"] + ("/***" if m["rest"] else ""), text)
    return _BARE.sub(lambda m: f"{m['host']}/***", text)
