"""Keep secrets out of journals, screens and postmortems.

``redact(value)`` returns a copy of any JSON-like value with secrets replaced
by ``[REDACTED]``: values under secret-looking keys, the ``data`` and
``stringData`` of Kubernetes Secrets, and, inside any string, bearer tokens,
Slack/Discord webhook URLs, credentials and token parameters in URLs, JWTs,
AWS access keys, well-known token formats and PEM private keys. It errs on
the side of hiding: a journal is shared far more widely than a terminal.
"""

from __future__ import annotations

import base64
import functools
import json
import math
import re
import threading
import urllib.parse
from collections.abc import Iterable, Mapping
from typing import Any

MASK = "[REDACTED]"

# Matched against the key lowercased with "-", "_" and spaces removed (X-Api-Key -> xapikey).
_SECRET_KEY = re.compile(
    r"token|passw(or)?d|passphrase|secret|apikey|authorization|authheader|webhook|routingkey|"
    r"integrationkey|servicekey|privatekey|accesskey|signingkey|credential|cookie|sessionid|bearer|"
    r"connectionstring"
)
# Keys naming *where* a secret is, not the secret itself (secretName, tokenFile, secretRef...).
_REFERENCE_KEY = re.compile(r"(name|names|ref|namespace|kind|file|path|present|count)$")

_SECRET_TYPES = ("Opaque",)
_SECRET_TYPE_PREFIXES = ("kubernetes.io/", "bootstrap.kubernetes.io/", "helm.sh/")
_LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"

_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----.*?(-----END [A-Z0-9 ]*PRIVATE KEY-----|\Z)",
                re.DOTALL), MASK),
    (re.compile(r"https?://(hooks\.slack\.com|(?:[a-z0-9-]+\.)?discord(?:app)?\.com/api/webhooks|"
                r"[a-z0-9.-]*webhook\.office\.com)[^\s\"'<>]*", re.IGNORECASE),
     r"https://\1/" + MASK),
    (re.compile(r"\b([a-z][a-z0-9+.-]*://)[^/\s:@\"']+:[^/\s@\"']+@", re.IGNORECASE), r"\1" + MASK + "@"),
    (re.compile(r"([?&](?:access_token|token|api_?key|apikey|key|sig|signature|secret|password|passwd|auth|"
                r"code|x-amz-signature|x-amz-credential|x-amz-security-token|client_secret|routing_key)=)"
                r"[^&#\s\"']+", re.IGNORECASE), r"\1" + MASK),
    (re.compile(r"\b(bearer|basic|token)(\s+)[A-Za-z0-9\-._~+/]{8,}=*", re.IGNORECASE), r"\1\2" + MASK),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"), MASK),
    (re.compile(r"\b(?:AKIA|ASIA|AROA|AIDA)[0-9A-Z]{16}\b"), MASK),
    (re.compile(r"\b(?:xox[abprs]-[A-Za-z0-9-]{10,}|gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|"
                r"glpat-[A-Za-z0-9_-]{20,}|AIza[0-9A-Za-z_-]{35}|sk-[A-Za-z0-9_-]{20,})"), MASK),
    (re.compile(r"((?:[A-Za-z0-9]+[_-])*(?:token|passw(?:or)?d|secret|api_?key|access_?key|private_?key|"
                r"credentials?|routing_?key)\s*[=:]\s*)(?!\[REDACTED\])(\"[^\"]*\"|'[^']*'|[^\s,;&\"']+)",
                re.IGNORECASE), r"\1" + MASK),
    # properties-style short forms: db.pass=..., smtp_pwd: ... (a word boundary before ``pass``,
    # so ``bypass=1`` stays)
    (re.compile(r"(\b(?:[A-Za-z0-9]+[._-])*(?:pass|pwd)\s*[=:]\s*)(?!\[REDACTED\])(\"[^\"]*\"|'[^']*'|[^\s,;&\"']+)",
                re.IGNORECASE), r"\1" + MASK),
]

# Environment-variable pairs written out as text (a patch in a kubectl line, a manifest in a
# heredoc): {"name": "DB_PASSWORD", "value": "..."} and its YAML form. The value is masked when
# the name is secret-like.
_ENV_JSON = re.compile(r'("name"\s*:\s*"(?P<n>[^"\\]*)"\s*,\s*"value"\s*:\s*)"(?:[^"\\]|\\.)*"')
_ENV_JSON_REVERSED = re.compile(r'("value"\s*:\s*)"(?:[^"\\]|\\.)*"(?P<rest>\s*,\s*"name"\s*:\s*"(?P<n>[^"\\]*)")')
_ENV_YAML = re.compile(r"(?m)^(?P<head>[ \t]*(?:- )?name:[ \t]*(?P<n>[^\n]*)\n[ \t]*(?:- )?value:[ \t]*)(?P<v>[^\n]*)$")
_ENV_YAML_REVERSED = re.compile(r"(?m)^(?P<head>[ \t]*(?:- )?value:[ \t]*)(?P<v>[^\n]*)(?P<rest>\n[ \t]*name:[ \t]*(?P<n>[^\n]*))$")


def _env_pairs(text: str) -> str:
    def json_pair(m: re.Match[str]) -> str:
        return m.group(1) + f'"{MASK}"' if is_secret_key(m.group("n")) else m.group(0)

    def json_reversed(m: re.Match[str]) -> str:
        return m.group(1) + f'"{MASK}"' + m.group("rest") if is_secret_key(m.group("n")) else m.group(0)

    def yaml_pair(m: re.Match[str]) -> str:
        name = m.group("n").strip().strip("'\"")
        return m.group("head") + MASK if is_secret_key(name) and m.group("v").strip() else m.group(0)

    def yaml_reversed(m: re.Match[str]) -> str:
        name = m.group("n").strip().strip("'\"")
        return m.group("head") + MASK + m.group("rest") if is_secret_key(name) and m.group("v").strip() \
            else m.group(0)

    if '"value"' in text:
        text = _ENV_JSON_REVERSED.sub(json_reversed, _ENV_JSON.sub(json_pair, text))
    if "value:" in text:
        text = _ENV_YAML_REVERSED.sub(yaml_reversed, _ENV_YAML.sub(yaml_pair, text))
    return text


# --------------------------------------------------------------------------- known secret values
#
# Key names and patterns miss a secret whose name says nothing (an input called ``target``, a
# value a runbook passed on). Every value the tool knows to be secret (inputs of type secret,
# integration credentials from the keyring, tokens) is registered here and masked wherever it
# appears: as it is, JSON-escaped (inside a printed patch), base64-encoded (a Secret's data),
# percent-encoded (in a URL: ``quote`` with and without ``/`` kept, ``quote_plus``, upper- or
# lower-case hex) and case-folded.
#
# Slices. A template can cut a secret (``inputs.token[:20]``) and a screen or a log can truncate
# it, so a long secret is also masked where only part of it appears. The rule: for a secret of
# at least ``WINDOW_MIN_SECRET`` (16) characters, any run of at least ``WINDOW`` (12) consecutive
# characters of any of its forms is masked, the whole run. Twelve characters of a 16+ character
# secret are most of it, and no ordinary word is that long a piece of a random token; a shorter
# secret is masked only whole (4 to 15 characters) or where it is a whole string (under 4), so
# short words that happen to occur in it ("pass", "admin") are never masked in other text.

_MIN_KNOWN = 4  # shorter values are masked only where they are a whole string
WINDOW = 12  # characters of a long secret that are masked wherever they appear
WINDOW_MIN_SECRET = 16  # secrets at least this long are masked by slice too
_known_lock = threading.Lock()
_KNOWN: set[str] = set()
_KNOWN_SHORT: frozenset[str] = frozenset()
_KNOWN_RE: re.Pattern[str] | None = None
_KNOWN_BYTES: tuple[bytes, ...] = ()
# Any WINDOW-long run of a form holds one of its BLOCK-long pieces that start at a multiple of
# BLOCK (BLOCK = WINDOW/2): finding those few pieces with ``in`` (C speed) finds every candidate,
# and only a text holding one is looked at more closely.
_BLOCK = WINDOW // 2
_BLOCKS: dict[str, list[tuple[str, int]]] = {}  # a piece -> (long form, offset of the piece in it)
_BLOCK_KEYS: tuple[str, ...] = ()
_GENERATION = 0


def _url_forms(value: str) -> set[str]:
    forms = {urllib.parse.quote(value, safe=""), urllib.parse.quote(value), urllib.parse.quote_plus(value)}
    return forms | {_LOWER_HEX.sub(lambda m: m.group(0).lower(), f) for f in forms}


_LOWER_HEX = re.compile(r"%[0-9A-F]{2}")


def _forms(value: str) -> set[str]:
    """The value and what it commonly turns into on the way: JSON-escaped, base64, URL-encoded,
    case-folded (a template's ``| lower`` in an object name). Other transformations are not known."""
    forms = {value, json.dumps(value)[1:-1], value.lower(), value.upper()}
    raw = value.encode("utf-8")
    forms.add(base64.b64encode(raw).decode("ascii"))
    forms.add(base64.urlsafe_b64encode(raw).decode("ascii"))
    forms.add(base64.b64encode(raw).decode("ascii").rstrip("="))
    for form in list(forms):
        forms |= _url_forms(form)
    return {f for f in forms if f}


def _secret_part(value: str) -> str:
    """The part of a secret whose slices are masked too. A secret URL (a Slack or PagerDuty
    webhook) is masked whole wherever it appears, but its scheme and host are not secret: slices
    of ``https://hooks.example.com/`` would mask that host in every dashboard link and cut other
    webhook URLs into pieces the patterns no longer recognise. Its path, query and password are."""
    if "://" not in value:
        return value
    try:
        parts = urllib.parse.urlsplit(value)
    except ValueError:
        return value
    if not parts.scheme or not parts.netloc:
        return value
    tail = value.split(parts.netloc, 1)[1]
    return tail if not parts.password else f"{parts.password}{tail}"


def register_secret(value: Any) -> None:
    """Mask ``value`` in everything redacted from now on (this process)."""
    register_secrets([value])


def register_secrets(values: Iterable[Any]) -> None:
    global _KNOWN_SHORT, _KNOWN_RE, _KNOWN_BYTES, _BLOCK_KEYS, _GENERATION
    new = [v for v in values if isinstance(v, str) and v.strip() and v != MASK]
    if not new:
        return
    with _known_lock:
        before = len(_KNOWN) + len(_KNOWN_SHORT)
        short = set(_KNOWN_SHORT)
        for value in new:
            if len(value) < _MIN_KNOWN:
                short.add(value)
                continue
            forms = _forms(value)
            _KNOWN.update(forms)
            secret_part = _secret_part(value)
            if len(secret_part) >= WINDOW_MIN_SECRET:
                for form in _forms(secret_part):
                    for at in range(0, len(form) - _BLOCK + 1, _BLOCK):
                        places = _BLOCKS.setdefault(form[at:at + _BLOCK], [])
                        if (form, at) not in places:
                            places.append((form, at))
        if len(_KNOWN) + len(short) == before:
            return
        _KNOWN_SHORT = frozenset(short)
        ordered = sorted(_KNOWN, key=len, reverse=True)  # the longest form first: no half-masked value
        _KNOWN_RE = re.compile("|".join(map(re.escape, ordered))) if ordered else None
        _BLOCK_KEYS = tuple(_BLOCKS)
        _KNOWN_BYTES = tuple(f.encode("utf-8") for f in ordered) + tuple(
            b'"' + json.dumps(v)[1:-1].encode("utf-8") + b'"' for v in short)
        _INNOCUOUS.clear()  # a string found innocuous before may hold the new value
        _GENERATION += 1


def forget_secrets() -> None:
    """Drop every registered value (tests)."""
    global _KNOWN_SHORT, _KNOWN_RE, _KNOWN_BYTES, _BLOCK_KEYS, _GENERATION
    with _known_lock:
        _KNOWN.clear()
        _BLOCKS.clear()
        _KNOWN_SHORT, _KNOWN_RE, _KNOWN_BYTES, _BLOCK_KEYS = frozenset(), None, (), ()
        _GENERATION += 1


def generation() -> int:
    """Changes whenever the known values change (for caches of redacted text)."""
    return _GENERATION


def _mask_known(text: str) -> str:
    """Known values masked where they appear whole (slices come after the patterns)."""
    pattern = _KNOWN_RE
    if pattern is not None:
        text = pattern.sub(MASK, text)
    if _KNOWN_SHORT and text in _KNOWN_SHORT:
        return MASK
    return text


def _mask_known_slices(text: str) -> str:
    if _BLOCK_KEYS and len(text) >= WINDOW and any(map(text.__contains__, _BLOCK_KEYS)):
        return _mask_slices(text)
    return text


def _mask_slices(text: str) -> str:
    """Every run of WINDOW or more characters of a long secret's form masked, the whole run."""
    spans: list[tuple[int, int]] = []
    for piece, places in _BLOCKS.items():
        at = text.find(piece)
        while at != -1:
            for form, offset in places:
                left, i = at, offset
                while left > 0 and i > 0 and text[left - 1] == form[i - 1]:
                    left, i = left - 1, i - 1
                right, j = at + _BLOCK, offset + _BLOCK
                while right < len(text) and j < len(form) and text[right] == form[j]:
                    right, j = right + 1, j + 1
                if right - left >= WINDOW:
                    spans.append((left, right))
            at = text.find(piece, at + 1)
    if not spans:
        return text
    out: list[str] = []
    done = 0
    for left, right in sorted(spans):
        if right <= done:
            continue
        if left >= done:
            out.append(text[done:left])
            out.append(MASK)
        done = right
    out.append(text[done:])
    return "".join(out)


# Cheap pre-check: a string containing none of these cannot match any pattern above (most strings:
# node names, step ids), so it skips the full scan. Keep in step with _PATTERNS.
_TRIGGER = re.compile(
    r"-----BEGIN|://|[?&][a-z_-]+=|bearer|basic|token|eyJ|AKIA|ASIA|AROA|AIDA|xox|gh[pousr]_|github_pat_|"
    r"glpat-|AIza|sk-|pass|pwd|secret|api_?key|access_?key|private_?key|credential|routing_?key",
    re.IGNORECASE,
)
# The same test for ASCII text (nearly all text) as plain substring checks on the lowercased
# text, several times faster than the alternation above: Python's re tries each branch in turn.
_TRIGGER_WORDS = (
    "-----begin", "://", "bearer", "basic", "token", "eyj", "akia", "asia", "aroa", "aida", "xox", "ghp_",
    "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "glpat-", "aiza", "sk-", "passw", "secret", "apikey",
    "api_key", "accesskey", "access_key", "privatekey", "private_key", "credential", "routingkey",
    "routing_key", "pass", "pwd",
)
_SHORTEST_SECRET = 8  # shorter text is left as it is: too short to carry a credential
_QUERY_TRIGGER = re.compile(r"[?&][a-z_-]+=", re.IGNORECASE)
_KEY_NOISE = re.compile(r"[-_\s]")


@functools.lru_cache(maxsize=4096)
def is_secret_key(key: str) -> bool:
    """Does this key name a secret value (``password``, ``slack_webhook``), not a reference to one?"""
    norm = _KEY_NOISE.sub("", key.lower())
    return bool(_SECRET_KEY.search(norm)) and not _REFERENCE_KEY.search(norm)


def may_hold_secret(text: str) -> bool:
    """Could any of the secret patterns match ``text``? (``_TRIGGER``, computed faster.)"""
    if not text.isascii():  # case-insensitive matching has non-ASCII twists (the long s, dotless i)
        return _TRIGGER.search(text) is not None
    lowered = text.lower()
    return any(map(lowered.__contains__, _TRIGGER_WORDS)) or (
        "=" in text and _QUERY_TRIGGER.search(text) is not None)


# The whole-text pre-check (``encoded_may_hold_secret``): words that can show up in a secret key
# once "-", "_" and spaces are removed (everything ``_SECRET_KEY`` matches), the words of
# ``_TRIGGER_WORDS`` without a separator (found in the squeezed text too), and what makes
# ``_looks_like_secret`` true ("secret" already covers kind: Secret). Keep in step with those.
_SQUEEZED_WORDS = (
    "token", "passw", "passphrase", "secret", "apikey", "authorization", "authheader", "webhook",
    "routingkey", "integrationkey", "servicekey", "privatekey", "accesskey", "signingkey", "credential",
    "cookie", "sessionid", "bearer", "connectionstring", "basic", "eyj", "akia", "asia", "aroa", "aida", "xox",
    "aiza", "opaque", "kubernetes.io/", "helm.sh/", "pass", "pwd",
)
# The trigger words with a separator, looked for in the lowercased text as it is.
_SEPARATED_WORDS = tuple(word for word in _TRIGGER_WORDS if "-" in word or "_" in word or ":" in word)
_QUERY_TRIGGER_BYTES = re.compile(rb"[?&][a-z_-]+=", re.IGNORECASE)


_INNOCUOUS: set[bytes] = set()  # strings seen in encoded data that no secret test can fire on
_INNOCUOUS_LIMIT = 8192  # strings kept (each at most _INNOCUOUS_LONGEST bytes)
_INNOCUOUS_LONGEST = 64


def encoded_may_hold_secret(encoded: bytes) -> bool:
    """Could ``redact_json`` change anything in the value that JSON text ``encoded`` holds?

    For the compact JSON of plain data (str keys). A cheap superset of the tests the walk
    makes: False means no key is secret-looking, no string could match a secret pattern and
    nothing is Secret-shaped, so redaction would return the value unchanged. Every one of
    those tests looks at one string (a key or a value), and journal data repeats its strings
    (keys, step ids, node names), so strings found innocuous are remembered and only new ones
    are tested, all at once. Anything outside ASCII or any escape (a backslash) answers True:
    there the tests on the text and on the strings could differ (case folding, ``\\t`` in a key).
    """
    if not encoded.isascii() or b"\\" in encoded:
        return True
    known = _KNOWN_BYTES
    if known and any(map(encoded.__contains__, known)):
        return True
    if _BLOCK_KEYS and any(map(encoded.decode("ascii").__contains__, _BLOCK_KEYS)):
        return True
    strings = encoded.split(b'"')[1::2]  # no escapes: the quotes delimit the strings
    if _INNOCUOUS.issuperset(strings):
        return False
    new = set(strings).difference(_INNOCUOUS)
    if _strings_may_hold_secret(b'"'.join(new)):
        return True
    if len(_INNOCUOUS) < _INNOCUOUS_LIMIT:
        _INNOCUOUS.update(text for text in new if len(text) <= _INNOCUOUS_LONGEST)
    return False


def _strings_may_hold_secret(joined: bytes) -> bool:
    """The tests on ASCII strings joined by quotes (which no test's match can span)."""
    lowered = joined.decode("ascii").lower()
    if any(map(lowered.__contains__, _SEPARATED_WORDS)) or (
            "=" in lowered and _QUERY_TRIGGER_BYTES.search(joined) is not None):
        return True
    squeezed = lowered.replace("-", "").replace("_", "").replace(" ", "")
    return any(map(squeezed.__contains__, _SQUEEZED_WORDS))


def redact_text(text: str) -> str:
    """Mask secrets found anywhere in a string: known secret values, the patterns, then slices
    of known values. Slices go last: masking a slice first can cut an unknown secret (another
    webhook URL sharing a known one's path prefix) into pieces no pattern recognises."""
    if _KNOWN_RE is not None or _KNOWN_SHORT:
        text = _mask_known(text)
    if len(text) >= _SHORTEST_SECRET:
        if "value" in text:
            text = _env_pairs(text)
        if may_hold_secret(text):
            for pattern, replacement in _PATTERNS:
                text = pattern.sub(replacement, text)
    return _mask_known_slices(text)


def _looks_like_secret(obj: Mapping[str, Any]) -> bool:
    if obj.get("kind") == "Secret":
        return True
    kind = obj.get("type")
    return ("data" in obj or "stringData" in obj) and isinstance(kind, str) and (
        kind in _SECRET_TYPES or kind.startswith(_SECRET_TYPE_PREFIXES))


def _mask_values(value: Any, strict: bool) -> Any:
    if isinstance(value, Mapping):
        return {(_json_key(k) if strict else k): MASK for k in value}
    return MASK if value not in (None, "") else value


def _json_key(key: Any) -> str:
    """A dict key as JSON writes it (``True`` -> ``"true"``)."""
    if isinstance(key, str):
        return str(key)
    if key is None or isinstance(key, bool | int | float):
        return json.dumps(key)
    raise TypeError(f"keys must be str, int, float, bool or None, not {type(key).__name__}")


def redact(value: Any) -> Any:
    """A copy of ``value`` with every secret replaced by ``[REDACTED]``."""
    return _walk(value, False)


def redact_json(value: Any) -> Any:
    """``redact(value)`` as plain JSON data, exactly what ``json.loads(json.dumps(...))`` of it
    gives (tuples become lists, subclasses of str/int/float their base type), in one pass.

    Raises ``TypeError`` for a value JSON cannot hold and ``ValueError`` for NaN or infinity,
    with json's own messages. The journal writes every record through this.
    """
    return _walk(value, True)


def _walk(value: Any, strict: bool) -> Any:
    kind = type(value)  # exact types first: journal data is plain JSON, and ABC checks are slow
    if kind is str:
        return redact_text(value)
    if kind is dict:
        return _redact_mapping(value, strict)
    if kind is list:
        return [redact_text(item) if type(item) is str else _walk(item, strict) for item in value]
    if kind is int or kind is bool or value is None:
        return value
    if kind is float:
        if strict and not math.isfinite(value):
            raise ValueError("Out of range float values are not JSON compliant")
        return value
    if isinstance(value, str):
        return redact_text(str(value) if strict else value)
    if isinstance(value, Mapping):
        return _redact_mapping(value, strict)
    if isinstance(value, list | tuple):
        return [_walk(item, strict) for item in value]
    if not strict:
        return value
    if isinstance(value, int):  # bool subclasses are impossible; IntEnum and friends
        return int(value)
    if isinstance(value, float):
        return _walk(float(value), strict)
    raise TypeError(f"Object of type {kind.__name__} is not JSON serializable")


def _redact_mapping(value: Mapping[Any, Any], strict: bool) -> dict[str, Any]:
    if _looks_like_secret(value):
        return _redact_secret_object(value, strict)
    out: dict[str, Any] = {}
    env_name = value.get("name")
    secret_value = "value" in value and isinstance(env_name, str) and is_secret_key(env_name)
    shortest = 0 if _KNOWN_SHORT else _SHORTEST_SECRET
    for key, item in value.items():  # the common case, kept lean: every journal append runs it
        name = key if type(key) is str else str(key)
        kind = type(item)
        if (is_secret_key(name) or (secret_value and name == "value")) and item is not None and kind is not bool \
                and item != "":
            out[name] = MASK  # {name: DB_PASSWORD, value: ...}: an env var's value
        elif kind is str:
            out[name] = item if len(item) < shortest else redact_text(item)
        elif kind is int or item is None:
            out[name] = item
        else:
            out[name] = _walk(item, strict)
    return out


def _redact_secret_object(value: Mapping[Any, Any], strict: bool) -> dict[str, Any]:
    """A Kubernetes Secret (or a Secret-shaped object): its data and stringData go entirely."""
    out: dict[str, Any] = {}
    for key, item in value.items():
        name = key if type(key) is str else str(key)
        if name in ("data", "stringData"):
            out[name] = _mask_values(item, strict)
        elif is_secret_key(name) and item is not None and not isinstance(item, bool) and item != "":
            out[name] = MASK
        elif name == "metadata" and isinstance(item, Mapping):
            meta = _redact_mapping(item, strict)
            annotations = meta.get("annotations")
            if isinstance(annotations, dict) and _LAST_APPLIED in annotations:
                annotations[_LAST_APPLIED] = MASK
            out[name] = meta
        else:
            out[name] = _walk(item, strict)
    return out
