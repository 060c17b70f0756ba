"""One redaction for everything that leaves the process: answers, health, metrics, logs,
incidents and error messages.

Two entry points:

- `redact_url` for a value known to be a URL (a camera stream, an Ollama host, a webhook):
  the userinfo password (``user:pw@``, ``:pw@``) and secret-looking query parameters
  (``password=``, ``token=``, ``api_key=``…, common on Reolink RTMP URLs) become ``***``.
- `redact_text` for free text that may carry secrets (log lines, process command lines,
  exception messages): every URL in it as above, plus ``--api-key=…`` / ``--password …``
  style flags, ``password=…`` assignments and ``Authorization: Bearer …`` headers.

Redaction keeps the shape (scheme, host, port, user name, parameter names) so an operator can
still tell which camera or host a line is about.
"""

from __future__ import annotations

import logging
import re
import threading

MASK = "***"

# Parameter and flag names that carry secrets, matched case-insensitively as a whole name or
# with a prefix/suffix such as ``x-api-key``, ``db_password``, ``access_token``.
_SECRET_WORDS = (
    r"pass(?:word|wd|phrase)?|pwd|secret|token|api[_-]?key|apikey|key|auth|credentials?|"
    r"signature|sig|session(?:id)?|cookie"
)
_SECRET_NAME = re.compile(rf"^(?:[\w.-]*[_.-])?(?:{_SECRET_WORDS})(?:[_.-][\w.-]*)?$", re.IGNORECASE)

# scheme://[user][:password]@host — the password may be empty-user (rtsp://:pw@cam) and may
# hold '@' itself (cameras take rtsp://admin:p@ss@cam, splitting at the last '@'). A password
# written as a placeholder in angle brackets (user:<password>@host) is our own help text.
_USERINFO = re.compile(
    r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<user>[^:/@\s?#]*):(?!<[\w-]+>@)(?P<pw>[^/\s?#]*)@"
)
# A userinfo without a password (rtsp://token@host) is often a bare token: mask it too when it
# looks like one (long and not a plain name).
_BARE_USER = re.compile(r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<user>[A-Za-z0-9_\-.~%]{20,})@")
# A value ends where the URL would in running text too: ')' or a quote after a URL is the
# sentence's, not the password's.
_QUERY_PARAM = re.compile(r"(?P<sep>[?&;])(?P<name>[^=&#\s;]+)=(?P<value>[^&#\s;)\]'\"<>,]*)")
# --api-key=VALUE, --api-key VALUE (a flag starts a word: "4,096-token context" is no flag);
# -p VALUE is too ambiguous to touch.
_FLAG = re.compile(
    rf"(?<![^\s\"'])(?P<flag>--?(?:[\w-]*[_-])?(?:{_SECRET_WORDS})(?:[_-][\w-]*)?)(?P<sep>=|\s+)(?P<value>\"[^\"]*\"|'[^']*'|[^\s\"']+)",
    re.IGNORECASE,
)
# password=VALUE, "api_key": "VALUE", TOKEN: VALUE in logs and environment dumps.
# After a bare ``name: `` only a value that looks like a secret counts (a digit or a symbol in
# it, or 16 letters and more): in prose a colon introduces words, and our own 401 text
# "missing bearer token: send 'Authorization: …'" lost its "send" to the mask.
_PROSE_WORD = re.compile(r"[A-Za-z]{1,15}")
_ASSIGN = re.compile(
    rf"(?P<name>\b(?:[\w.-]*[_.-])?(?:{_SECRET_WORDS})(?:[_.-][\w.-]*)?)(?P<q>[\"']?)(?P<sep>\s*[=:]\s*)"
    rf"(?P<value>\"[^\"]*\"|'[^']*'|[^\s,;&\"'}})\]<>]+)",
    re.IGNORECASE,
)
_BEARER = re.compile(r"\b(?P<scheme>Bearer|Basic|Token)\s+(?P<value>[A-Za-z0-9._~+/=-]{8,})", re.IGNORECASE)
_HUB_TOKEN = re.compile(r"\bhh_[A-Za-z0-9_-]{16,}")
# A speaker's one-time audio link (/speakers/audio/NAME): the name is its only credential. In
# a request to a speaker it travels percent-encoded (setPlayerCmd:play:http%3A%2F%2F…).
_AUDIO_LINK = re.compile(r"(?P<path>(?:/|%2F)speakers(?:/|%2F)audio(?:/|%2F))[A-Za-z0-9_-]+", re.IGNORECASE)


def is_secret_name(name: str) -> bool:
    """True for a parameter, flag or variable name that usually carries a secret."""
    return bool(_SECRET_NAME.match(name.strip().lstrip("-")))


def redact_url(url: str | None) -> str:
    """The URL with its password and secret query parameters masked. '' for None."""
    if not url:
        return ""
    text = _USERINFO.sub(lambda m: f"{m['scheme']}{m['user']}:{MASK}@", url)
    text = _BARE_USER.sub(lambda m: f"{m['scheme']}{MASK}@", text)
    return _QUERY_PARAM.sub(_mask_param, text)


def redact_text(text: str | None) -> str:
    """Free text with every secret this module recognises masked. '' for None."""
    if not text:
        return ""
    out = redact_url(text)
    out = _FLAG.sub(lambda m: f"{m['flag']}{m['sep']}{MASK}", out)
    out = _ASSIGN.sub(_mask_assign, out)
    out = _BEARER.sub(lambda m: f"{m['scheme']} {MASK}", out)
    out = _AUDIO_LINK.sub(lambda m: f"{m['path']}{MASK}", out)
    return _HUB_TOKEN.sub(MASK, out)


class _RedactRequestLines(logging.Filter):
    """httpx logs every request as ``HTTP Request: GET <full URL>`` at INFO: a host URL with
    ``user:password@`` or ``?token=``, or a speaker command carrying a one-time audio link,
    would put its secret in the hub's log."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = redact_text(record.getMessage()), None
        return True


_redacting = threading.Lock()


def redact_http_logs() -> None:
    """Filter httpx's and httpcore's log lines through `redact_text` (once per process: the
    logger itself says whether it has the filter)."""
    with _redacting:
        for name in ("httpx", "httpcore"):
            logger = logging.getLogger(name)
            if not any(isinstance(f, _RedactRequestLines) for f in logger.filters):
                logger.addFilter(_RedactRequestLines())


def _mask_param(m: re.Match[str]) -> str:
    if m["value"] and m["value"] != MASK and is_secret_name(m["name"]):
        return f"{m['sep']}{m['name']}={MASK}"
    return m.group(0)


def _mask_assign(m: re.Match[str]) -> str:
    value = m["value"]
    if value.strip("\"'") in ("", MASK):
        return m.group(0)
    if not m["q"] and m["sep"].strip() == ":" and _PROSE_WORD.fullmatch(value):
        return m.group(0)
    quote = value[0] if value[:1] in ("'", '"') else ""
    return f"{m['name']}{m['q']}{m['sep']}{quote}{MASK}{quote}"


__all__ = ["MASK", "is_secret_name", "redact_http_logs", "redact_text", "redact_url"]
