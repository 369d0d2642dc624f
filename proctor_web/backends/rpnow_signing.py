"""Signing and encryption helpers for the PSI / Software Secure "RPNow" provider.

RPNow checks requests against a canonical body string whose quirks come from the
original edx-proctoring implementation, and it expects the exam password and the
review video link to be encrypted in particular ways. Every rule that affects
interoperability lives here, with no Flask or database code, so it can be tested
exactly on its own and shared by the backend and the review-callback view.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import unicodedata
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from Crypto.Cipher import AES, DES3
from Crypto.Util.Padding import pad, unpad

__all__ = [
    "DEFAULT_EXAM_NAME",
    "JSON_CONTENT_TYPE",
    "SignatureError",
    "body_string",
    "decrypt_exam_password",
    "decrypt_video_url",
    "encrypt_exam_password",
    "encrypt_video_url",
    "format_rpnow_date",
    "html5_video_url",
    "sanitize_exam_name",
    "sign",
    "signed_headers",
    "split_name",
    "string_to_sign",
    "verify_signature",
]

JSON_CONTENT_TYPE = "application/json"
DEFAULT_EXAM_NAME = "Proctored Exam"
AUTH_SCHEME = "SSI"

# The day and month names are fixed tuples because strftime's %a and %b follow the
# process locale. A server running under, say, de_DE would otherwise send a Date
# header that RPNow cannot parse, and the signature would not match.
_DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTH_NAMES = (
    "Jan", "Feb", "Mar", "Apr", "May", "Jun",
    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
)  # fmt: skip

# RPNow rejects or mangles exam names that contain these characters.
_EXAM_NAME_FORBIDDEN = re.compile(r"""[\[\]<>#:|!?/'"*\\]""")

# An RFC 1123 date with an optional day name and an explicit zone. Name checks are
# done against the tuples above, not in the pattern.
_DATE_RE = re.compile(
    r"(?:(?P<weekday>[A-Za-z]{3}),\s*)?"
    r"(?P<day>\d{1,2})\s+(?P<month>[A-Za-z]{3})\s+(?P<year>\d{4})\s+"
    r"(?P<hour>\d{2}):(?P<minute>\d{2}):(?P<second>\d{2})\s+"
    r"(?P<zone>GMT|UTC|UT|[+-]\d{4})",
    re.IGNORECASE | re.ASCII,
)

_DES3_BLOCK = 8
_GENERIC_LINK = "DirectLink-Generic"
_HTML5_LINK = "DirectLink-HTML5"


class SignatureError(ValueError):
    """Raised when a request claiming to come from RPNow fails authentication.

    It subclasses ValueError so callers that only care about "bad input" can catch
    it broadly. The message says which check failed, to help with debugging an
    integration. It never includes the expected signature.
    """


def _leaf_text(value: Any) -> str:
    """Render a value that is not in a list the way RPNow's signer does.

    Booleans are tested first because False is falsy but must be signed as "false",
    not "null". The empty string is the only falsy value kept verbatim. Everything
    else that is falsy, including 0 and 0.0, signs as "null". This is a quirk of the
    reference signer that we must reproduce, not a choice of ours.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if value == "":
        return ""
    if not value:
        return "null"
    return str(value)


def body_string(doc: Mapping[str, Any], prefix: str = "") -> str:
    """Flatten a JSON document into the canonical text that RPNow signs.

    The remote side computes the same string, so every quirk has to match byte for
    byte, even where it looks like a bug:

    * keys are visited in sorted order, and each leaf gives one ``key:value`` line;
    * ``prefix`` applies only to leaf lines at this level. A nested object restarts
      with just its own name (``parent.``), so a grandchild is written
      ``parent.child``, never ``grand.parent.child``;
    * a list member is ``name.N`` with no outer prefix. An object inside a list
      restarts with the prefix ``name.N.``, and a non-object member is written with
      Python's ``str()``. So ``True``/``None``/``0`` appear there, not
      ``true``/``null``;
    * empty lists and empty objects give no line at all.
    """
    lines: list[str] = []
    for key in sorted(doc):
        value = doc[key]
        name = str(key)
        if isinstance(value, Mapping):
            lines.append(body_string(value, f"{name}."))
        elif isinstance(value, list | tuple):
            for index, member in enumerate(value):
                if isinstance(member, Mapping):
                    lines.append(body_string(member, f"{name}.{index}."))
                else:
                    lines.append(f"{name}.{index}:{member}\n")
        else:
            lines.append(f"{prefix}{name}:{_leaf_text(value)}\n")
    return "".join(lines)


def string_to_sign(
    method: str,
    date: str,
    body: Mapping[str, Any],
    content_type: str = JSON_CONTENT_TYPE,
) -> str:
    """Build the message that is MACed.

    It follows an S3-like layout. The empty second line stands for a Content-MD5
    that RPNow never uses. The method is upper-cased because HTTP frameworks
    differ in how they report it, and both sides must hash the same bytes.
    """
    return f"{method.upper()}\n\n{content_type}\n{date}\n{body_string(body)}"


def sign(secret_key: str, message: str) -> str:
    """Return base64(HMAC-SHA256) of ``message``, the form RPNow puts in headers.

    Both arguments are UTF-8 encoded. Exam names and learner names can be
    non-ASCII, and the provider hashes UTF-8.
    """
    digest = hmac.new(secret_key.encode("utf-8"), message.encode("utf-8"), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def signed_headers(
    method: str,
    body: Mapping[str, Any],
    secret_key_id: str,
    secret_key: str,
    now: datetime,
) -> dict[str, str]:
    """Headers for an outgoing RPNow request.

    The ``Date`` value sent is exactly the one that was signed. ``now`` is passed
    in, not read from the clock, so callers and tests get repeatable signatures.
    """
    date = format_rpnow_date(now)
    signature = sign(secret_key, string_to_sign(method, date, body, JSON_CONTENT_TYPE))
    return {
        "Authorization": f"{AUTH_SCHEME} {secret_key_id}:{signature}",
        "Date": date,
        "Content-Type": JSON_CONTENT_TYPE,
    }


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """Look up a header without regard to case.

    Werkzeug's header object matches names case-insensitively but a plain dict
    does not, and proxies are free to change the case of header names.
    """
    value = headers.get(name)
    if value is not None:
        return value
    wanted = name.lower()
    for key, candidate in headers.items():
        if key.lower() == wanted:
            return candidate
    return None


def _as_utc(dt: datetime) -> datetime:
    """Treat naive datetimes as UTC, because the app stores and compares UTC."""
    if dt.tzinfo is None:
        return dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def _parse_date_header(value: str) -> datetime:
    """Parse an RFC 1123 date, insisting on an explicit time zone.

    ``email.utils.parsedate_tz`` is not used because it silently reads a missing
    or unknown zone as UTC. A guessed zone could widen the replay window, so such
    dates are rejected. The names come from the same fixed tuples used for
    formatting, so parsing does not depend on the locale either.
    """
    match = _DATE_RE.fullmatch(value.strip())
    invalid = SignatureError(f"Date header is not a valid RFC 1123 date: {value!r}")
    if match is None:
        raise invalid
    weekday = match["weekday"]
    if weekday is not None and weekday.title() not in _DAY_NAMES:
        raise invalid
    month_name = match["month"].title()
    if month_name not in _MONTH_NAMES:
        raise invalid
    zone = match["zone"].upper()
    if zone in ("GMT", "UT", "UTC"):
        offset = timedelta(0)
    else:
        direction = -1 if zone[0] == "-" else 1
        offset = direction * timedelta(hours=int(zone[1:3]), minutes=int(zone[3:5]))
    try:
        local = datetime(
            int(match["year"]),
            _MONTH_NAMES.index(month_name) + 1,
            int(match["day"]),
            int(match["hour"]),
            int(match["minute"]),
            int(match["second"]),
            tzinfo=UTC,
        )
        return local - offset
    except (ValueError, OverflowError) as exc:
        raise invalid from exc


def verify_signature(
    headers: Mapping[str, str],
    method: str,
    body: Mapping[str, Any],
    secret_key_id: str,
    secret_key: str,
    now: datetime,
    max_skew_seconds: int = 300,
    *,
    content_type: str = JSON_CONTENT_TYPE,
) -> None:
    """Authenticate an inbound RPNow request, such as the review callback.

    edx-proctoring ignores ``Authorization`` on its callback, so anyone who knows an
    attempt code can forge a review. This function closes that hole. It also
    requires a fresh ``Date``, to limit replay. It returns nothing on success and
    raises :class:`SignatureError` naming the failed check otherwise. The HMAC is
    compared in constant time so that timing does not reveal the signature.
    """
    authorization = _header(headers, "Authorization")
    if authorization is None or not authorization.strip():
        raise SignatureError("missing Authorization header")
    scheme, _, credentials = authorization.strip().partition(" ")
    if scheme != AUTH_SCHEME or not credentials:
        raise SignatureError(f"malformed Authorization header: expected '{AUTH_SCHEME} <id>:<sig>'")
    key_id, sep, signature = credentials.strip().rpartition(":")
    if not sep or not key_id or not signature:
        raise SignatureError(f"malformed Authorization header: expected '{AUTH_SCHEME} <id>:<sig>'")

    if not hmac.compare_digest(key_id.encode("utf-8"), secret_key_id.encode("utf-8")):
        raise SignatureError("unknown secret key id in Authorization header")

    date = _header(headers, "Date")
    if date is None or not date.strip():
        raise SignatureError("missing Date header")
    sent_at = _parse_date_header(date)
    skew = abs((_as_utc(now) - sent_at).total_seconds())
    if skew > max_skew_seconds:
        raise SignatureError(
            f"Date header is {int(skew)}s away from server time (limit {max_skew_seconds}s)"
        )

    # The Date is signed exactly as received, not re-formatted, because the sender
    # signed the string it sent.
    expected = sign(secret_key, string_to_sign(method, date, body, content_type))
    if not hmac.compare_digest(signature.encode("utf-8"), expected.encode("ascii")):
        raise SignatureError("signature does not match request")


def _des3(crypto_key: bytes) -> Any:
    """Build the cipher. ECB is RPNow's requirement for the exam password, not our choice."""
    return DES3.new(crypto_key, DES3.MODE_ECB)


def encrypt_exam_password(crypto_key: bytes, attempt_code: str) -> str:
    """Encrypt the attempt code that RPNow shows to the proctor as the exam password.

    The provider decrypts it with the shared ``crypto_key``, so the cipher (3DES-ECB),
    the padding (PKCS#5 to 8-byte blocks) and the encoding (standard base64) are set
    by their side.
    """
    plaintext = pad(attempt_code.encode("utf-8"), _DES3_BLOCK, style="pkcs7")
    return base64.b64encode(_des3(crypto_key).encrypt(plaintext)).decode("ascii")


def decrypt_exam_password(crypto_key: bytes, token: str) -> str:
    """Reverse :func:`encrypt_exam_password`, to check what was sent to RPNow.

    Bad padding or bad UTF-8, usually from a wrong key, raises ValueError. Returning
    garbage would be worse.
    """
    raw = base64.b64decode(token, validate=True)
    if not raw or len(raw) % _DES3_BLOCK:
        raise ValueError("exam password ciphertext is not a whole number of 3DES blocks")
    plaintext = unpad(_des3(crypto_key).decrypt(raw), _DES3_BLOCK, style="pkcs7")
    return plaintext.decode("utf-8")


def _video_cipher(aes_key_hex: str) -> Any:
    """AES-CBC with an IV derived from the key, to match the stored review links.

    The IV must be recomputable from the key alone, because only the ciphertext is
    stored. It is the ASCII text of the first 16 hex digits of
    ``md5(key + md5(key).hexdigest())``, where ``key`` is the hex-decoded raw key.
    """
    key = bytes.fromhex(aes_key_hex)
    inner = hashlib.md5(key).hexdigest().encode("ascii")
    iv = hashlib.md5(key + inner).hexdigest()[: AES.block_size].encode("ascii")
    return AES.new(key, AES.MODE_CBC, iv)


def encrypt_video_url(aes_key_hex: str, url: str) -> bytes:
    """Encrypt RPNow's review video link before storing it.

    The link grants access to a recording of the learner without further checks,
    so it must not sit in the database in clear text. The output is URL-safe
    base64, so it can be passed in a query string.
    """
    ciphertext = _video_cipher(aes_key_hex).encrypt(pad(url.encode("utf-8"), AES.block_size))
    return base64.urlsafe_b64encode(ciphertext)


def decrypt_video_url(aes_key_hex: str, token: bytes | str) -> str:
    """Recover a stored review link for an authorised instructor.

    ``str`` is accepted as well as ``bytes`` because database columns often give
    text back. Padding or UTF-8 errors raise ValueError.
    """
    raw = base64.urlsafe_b64decode(token)
    plaintext = unpad(_video_cipher(aes_key_hex).decrypt(raw), AES.block_size)
    return plaintext.decode("utf-8")


def html5_video_url(url: str) -> str:
    """Point RPNow's generic player link at the HTML5 player.

    The generic player needs a browser plugin that modern browsers no longer ship.
    """
    return url.replace(_GENERIC_LINK, _HTML5_LINK)


def sanitize_exam_name(name: str) -> str:
    """Make an exam title acceptable to RPNow.

    RPNow handles only ASCII and rejects some punctuation. NFKD lets accented
    letters keep their base letter ("é" becomes "e") and drops what has no ASCII
    form. A title that ends up empty gets a generic name, because the provider
    requires one.
    """
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    cleaned = _EXAM_NAME_FORBIDDEN.sub("_", ascii_name)
    return cleaned or DEFAULT_EXAM_NAME


def format_rpnow_date(dt: datetime) -> str:
    """Format a timestamp the way RPNow expects in ``Date`` and ``orgExtra`` dates.

    Naive datetimes are taken to be UTC, the app's convention. Aware ones are
    converted, so the literal "GMT" suffix is always true. The names come from fixed
    tuples so the result does not depend on the locale (see ``_DAY_NAMES``).
    """
    utc = _as_utc(dt)
    return (
        f"{_DAY_NAMES[utc.weekday()]}, {utc.day:02d} {_MONTH_NAMES[utc.month - 1]} "
        f"{utc.year:04d} {utc.hour:02d}:{utc.minute:02d}:{utc.second:02d} GMT"
    )


def split_name(full_name: str | None) -> tuple[str, str]:
    """Split a display name into RPNow's required first and last name fields.

    The app stores a single free-form name. Splitting at the first space is the
    simplest rule the proctor can follow. Everything after that space, including
    further spaces, becomes the last name, and a one-word name has an empty last
    name.
    """
    if not full_name:
        return "", ""
    first, _, last = full_name.partition(" ")
    return first, last
