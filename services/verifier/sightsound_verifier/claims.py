"""Sound claims out of a teacher trace (pure: text in, claims and error strings out, never raises).

The format is the contract in :mod:`sightsound.contracts.common`: one claim per line inside
``<claims>...</claims>``, ``key=value`` pairs separated by ``;``, values optionally double-quoted.
Every trace's prose is read as well (:mod:`sightsound_verifier.prose_claims`): its sound assertions
are merged with the block's claims and deduplicated (:mod:`sightsound_verifier.claim_merge`), each
claim recording ``extracted_from`` = ``claims_block`` or ``prose``. Version 2 lines
(:mod:`sightsound.contracts.claim_language`) may use ``<``, ``>``, ``<=``, ``>=`` on measurable keys
(``count>5``); the bound is kept in the value (``count: ">5"``).

A line with any malformed part is dropped whole, with an error: keeping the parts that did parse could
invert a claim (``present no`` without ``=`` would silently become a positive claim).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from sightsound.contracts.claim_language import INEQUALITY_KEYS, split_claim_pairs, split_pair
from sightsound.contracts.common import CLAIMS_CLOSE, CLAIMS_OPEN, ClaimKind
from sightsound.contracts.verifier import Claim
from sightsound_verifier.claim_bounds import normalise_bound
from sightsound_verifier.claim_merge import merge_claims
from sightsound_verifier.prose_claims import claims_from_prose

#: Attribute set on every claim: ``claims_block`` or ``prose``. Reserved: a line may not set it.
ORIGIN_KEY = "extracted_from"
ORIGIN_BLOCK = "claims_block"
ORIGIN_PROSE = "prose"
ORIGIN_FREE_TEXT = ORIGIN_PROSE  # the name of version 1

#: At most this many error strings per trace; the rest are counted in one closing message.
MAX_ERRORS = 20

SPEECH_EVENTS = frozenset(
    {
        "speech",
        "speaking",
        "talk",
        "talking",
        "voice",
        "voices",
        "conversation",
        "dialogue",
        "narration",
        "speak",
        "says",
        "said",
        "word",
        "words",
        "utterance",
        "utterances",
        "sentence",
        "sentences",
        "shout",
        "shouting",
        "yell",
        "yelling",
        "whisper",
        "whispering",
        "narrate",
        "narrating",
        "announcement",
        "announcing",
        "lecture",
        "chat",
        "chatter",
        "commentary",
        "voice-over",
        "spoken",
    }
)
SILENCE_EVENTS = frozenset({"silence", "silent", "nothing", "no sound", "quiet"})
#: Events that mean "any sound at all"; from the whole scene they are a (negated) silence claim.
GENERIC_SOUND_EVENTS = frozenset({"sound", "sounds", "noise", "audio", "anything", "any sound"})
SCENE_SOURCES = frozenset({"scene", "clip", "video", "environment", "background", "anything", "any"})
MUSIC_EVENTS = frozenset(
    {"music", "instrument", "instrumental", "playing", "melody", "tune", "orchestra", "band", "soundtrack", "jingle"}
)
SINGING_EVENTS = frozenset(
    {"singing", "song", "sing", "sings", "vocals", "choir", "chant", "chanting", "humming", "rap", "rapping", "aria"}
)

#: Version 2 keys that decide a line's kind, in priority order (a relation wins over plain presence).
V2_KINDS = (
    ("except", ClaimKind.exception),
    ("compare", ClaimKind.comparison),
    ("pattern", ClaimKind.pattern),
    ("gap", ClaimKind.gap),
    ("overlap", ClaimKind.overlap),
    ("between", ClaimKind.overlap),
    ("coverage", ClaimKind.coverage),
    ("instrument", ClaimKind.instrument),
    ("voice", ClaimKind.voice),
)

_YES = frozenset({"yes", "true", "1", "y"})
_NO = frozenset({"no", "false", "0", "n"})
_KEY = re.compile(r"^[a-z][a-z0-9_]*$")
_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+")
_TIME_RANGE = re.compile(
    r"^\s*(\d+(?:\.\d+)?)\s*(?:s|sec|seconds)?\s*(?:-|–|to|\.\.)\s*(\d+(?:\.\d+)?)\s*(?:s|sec|seconds)?\s*$"
)


@dataclass(frozen=True)
class ClaimExtraction:
    """What one trace claims: the claims to check (capped), the parse errors, and how many were found."""

    claims: list[Claim]
    errors: list[str] = field(default_factory=list)
    found: int = 0
    from_free_text: bool = False

    @property
    def unchecked(self) -> int:
        """Claims found beyond the cap; they are reported, not checked."""
        return self.found - len(self.claims)


class _LineError(ValueError):
    """One claim line that does not parse; caught per line, never leaves this module."""


def extract_claims(text: str, max_claims: int) -> ClaimExtraction:
    """Claims of ``text``, at most ``max_claims`` of them, and parse errors as strings.

    >>> out = extract_claims("<claims>\\nsource=person; event=speech; present=no\\n</claims>", 8)
    >>> [(c.kind.value, c.attributes["present"]) for c in out.claims], out.errors
    ([('speech_presence', 'no')], [])
    >>> extract_claims("<claims>\\nsource person\\n</claims>", 8).errors
    ["claims line 1: 'source person' is not key=value"]
    """
    errors: list[str] = []
    body = _claims_block(text, errors)
    block: list[Claim] = []
    if body is not None:
        block = _block_claims(body, errors)
    prose = [
        Claim(index=0, kind=infer_kind(c.pairs)[0], text=c.sentence, attributes={**c.pairs, ORIGIN_KEY: ORIGIN_PROSE})
        for c in claims_from_prose(text)
    ]
    merged = merge_claims(block, prose)
    if body is None:
        errors.append(
            f"no {CLAIMS_OPEN} block; {len(merged)} claim(s) taken from the prose"
            if merged
            else f"no {CLAIMS_OPEN} block and no sound claim recognised in the prose"
        )
    claims = [c.model_copy(update={"index": i}) for i, c in enumerate(merged[:max_claims])]
    return _capped(claims, len(merged), errors, max_claims, from_free_text=body is None)


def _block_claims(body: str, errors: list[str]) -> list[Claim]:
    lines = body.splitlines()
    if lines and not lines[0].strip():
        lines = lines[1:]  # the rest of the ``<claims>`` line: numbering starts at the first claim line
    claims: list[Claim] = []
    for number, raw in enumerate(lines, start=1):
        line = _BULLET.sub("", raw, count=1).strip()
        if not line:
            continue
        try:
            pairs = parse_claim_line(line)
        except _LineError as exc:
            errors.append(f"claims line {number}: {exc}")
            continue
        kind, kind_error = infer_kind(pairs)
        if kind_error:
            errors.append(f"claims line {number}: {kind_error}")
        claims.append(Claim(index=len(claims), kind=kind, text=line, attributes={**pairs, ORIGIN_KEY: ORIGIN_BLOCK}))
    return claims


def _capped(
    claims: list[Claim], found: int, errors: list[str], max_claims: int, *, from_free_text: bool
) -> ClaimExtraction:
    if len(errors) > MAX_ERRORS:
        errors = [*errors[:MAX_ERRORS], f"... and {len(errors) - MAX_ERRORS} more parse errors"]
    if found > max_claims:
        errors.append(
            f"{found} claims found; only the first {max_claims} are checked "
            f"(verifier_max_claims), {found - max_claims} ignored"
        )
    return ClaimExtraction(claims, errors, found=found, from_free_text=from_free_text)


def _claims_block(text: str, errors: list[str]) -> str | None:
    """Body of the first ``<claims>`` block, or ``None`` when there is none (errors noted in place)."""
    lowered = text.lower()
    start = lowered.find(CLAIMS_OPEN)
    if start < 0:
        if CLAIMS_CLOSE in lowered:
            errors.append(f"{CLAIMS_CLOSE} without {CLAIMS_OPEN}")
        return None
    body_start = start + len(CLAIMS_OPEN)
    end = lowered.find(CLAIMS_CLOSE, body_start)
    if end < 0:
        # Read up to the answer (or the end): the teacher most likely just forgot to close the block.
        answer = lowered.find("<answer>", body_start)
        end = answer if answer >= 0 else len(text)
        errors.append(f"unclosed {CLAIMS_OPEN} block; read up to {'<answer>' if answer >= 0 else 'end of text'}")
    else:
        extra = lowered.count(CLAIMS_OPEN, end)
        if extra:
            errors.append(f"{extra} more {CLAIMS_OPEN} block(s) after the first were ignored")
    nested = lowered.find(CLAIMS_OPEN, body_start, end)
    if nested >= 0:
        errors.append(f"{CLAIMS_OPEN} opened twice; text before the second one was read as claims")
    return text[body_start:end]


def parse_claim_line(line: str) -> dict[str, str]:
    """``key=value`` pairs of one line; raises ``_LineError`` (internal) with a readable message.

    Keys are lower-cased; values keep their case, lose their quotes and surrounding blanks; ``present``
    is normalised to ``yes`` / ``no``.

    >>> parse_claim_line('source=person; event=speech; words="stop; now"; present=True')
    {'source': 'person', 'event': 'speech', 'words': 'stop; now', 'present': 'yes'}
    """
    shown = line if len(line) <= 80 else line[:77] + "..."
    pairs: dict[str, str] = {}
    for part in _split_unquoted(line, shown):
        if not part.strip():
            continue
        key, op, value = split_pair(part)
        if not op:
            if "=" in part and part.partition("=")[0].strip():
                raise _LineError(f"bad key {part.partition('=')[0].strip().lower()!r} in {shown!r}")
            raise _LineError(f"{shown!r} is not key=value")
        if op != "=" and key not in INEQUALITY_KEYS:
            raise _LineError(f"operator {op!r} is only allowed on {', '.join(INEQUALITY_KEYS)} in {shown!r}")
        quoted = part.strip().endswith('"')
        if not _KEY.match(key):
            raise _LineError(f"bad key {key!r} in {shown!r}")
        if key == ORIGIN_KEY:
            raise _LineError(f"key {ORIGIN_KEY!r} is reserved")
        if '"' in value:
            raise _LineError(f"stray quote in value of {key!r} in {shown!r}")
        if not value:
            raise _LineError(f"empty value for {key!r} in {shown!r}")
        if key == "present":
            value = _yes_no(value, shown)
        if key in INEQUALITY_KEYS and not quoted:
            value = normalise_bound(op, value)
        if key in pairs and pairs[key] != value:
            raise _LineError(f"key {key!r} given twice with different values in {shown!r}")
        pairs[key] = value
    if not pairs:
        raise _LineError(f"{shown!r} has no key=value pair")
    return pairs


def _split_unquoted(line: str, shown: str) -> list[str]:
    """Split on ``;`` outside double quotes (the contract's splitter); an open quote is an error."""
    parts, quote_open = split_claim_pairs(line)
    if quote_open:
        raise _LineError(f"unclosed quote in {shown!r}")
    return parts


def _yes_no(value: str, shown: str) -> str:
    lowered = value.lower()
    if lowered in _YES:
        return "yes"
    if lowered in _NO:
        return "no"
    raise _LineError(f"present must be yes or no, got {value!r} in {shown!r}")


def infer_kind(pairs: Mapping[str, str]) -> tuple[ClaimKind, str | None]:
    """The claim's kind, and an error when an explicit ``kind=`` is not a known kind.

    One line has one kind; when a line mixes aspects, the first rule that matches wins, in this order:
    explicit ``kind``; speech with ``words`` (content); the v2 relations in ``V2_KINDS`` order (``except``,
    ``compare``, ``pattern``, ``gap``, ``overlap``, ``between``, ``coverage``, ``instrument``, ``voice``);
    silence; ``loudness``; ``count``; ``pitch``;
    ``tempo``; ``order``; ``duration``; speech (presence); singing; music; a generic sound of the whole scene
    (``source=scene; event=sound``: a claim about silence, negated); any other source or event;
    otherwise ``other``. A measurable attribute wins over the event it is about: ``event=speech;
    pitch=low`` is a pitch claim (its speech is presupposed), not a speech-presence claim.

    >>> infer_kind({"source": "scene", "event": "sound", "loudness": "rising"})
    (<ClaimKind.loudness: 'loudness'>, None)
    >>> infer_kind({"kind": "pitch", "source": "bird"})
    (<ClaimKind.pitch: 'pitch'>, None)
    >>> infer_kind({"source": "man", "event": "speech", "pitch": "low"})
    (<ClaimKind.pitch: 'pitch'>, None)
    >>> infer_kind({"kind": "timbre"})[1]
    "unknown kind 'timbre'; inferred from the other keys instead"
    """
    error = None
    explicit = pairs.get("kind", "").strip().lower()
    if explicit:
        if explicit in ClaimKind.__members__:
            return ClaimKind(explicit), None
        error = f"unknown kind {pairs['kind']!r}; inferred from the other keys instead"
    event = pairs.get("event", "").strip().lower()
    source = pairs.get("source", "").strip().lower()
    if "words" in pairs and (event in SPEECH_EVENTS or not event):
        return ClaimKind.speech_content, error
    for key, kind in V2_KINDS:
        if key in pairs:
            return kind, error
    if event in SILENCE_EVENTS:
        return ClaimKind.silence, error
    for key, kind in (
        ("loudness", ClaimKind.loudness),
        ("count", ClaimKind.event_count),
        ("pitch", ClaimKind.pitch),
        ("tempo", ClaimKind.tempo),
        ("order", ClaimKind.temporal_order),
        ("duration", ClaimKind.duration),
    ):
        if key in pairs:
            return kind, error
    if event in SPEECH_EVENTS:
        return ClaimKind.speech_presence, error
    if event in SINGING_EVENTS:
        return ClaimKind.singing, error
    if event in MUSIC_EVENTS or source in {"music", "band", "orchestra"}:
        return ClaimKind.music, error
    if event in GENERIC_SOUND_EVENTS and source in SCENE_SOURCES | {""}:
        return ClaimKind.silence, error
    if source or event:
        return ClaimKind.sound_source, error
    return ClaimKind.other, error


def asserts_presence(claim: Claim) -> bool:
    """False when the claim is negated (``present=no``); a claim without ``present`` asserts presence."""
    return str(claim.attributes.get("present", "yes")).lower() != "no"


def asserts_silence(claim: Claim) -> bool:
    """Whether a silence-kind claim says the audio is silent.

    ``event=silence`` asserts silence and ``present=no`` turns it round; a generic ``event=sound`` of
    the scene asserts sound, and ``present=no`` on it asserts silence.

    >>> no_sound = {"source": "scene", "event": "sound", "present": "no"}
    >>> asserts_silence(Claim(index=0, kind="silence", text="", attributes=no_sound))
    True
    """
    says_silent = str(claim.attributes.get("event", "silence")).lower() not in GENERIC_SOUND_EVENTS
    return says_silent if asserts_presence(claim) else not says_silent


def time_window(claim: Claim) -> tuple[float, float] | str | None:
    """The claim's ``time`` as ``(start_s, end_s)``, ``None`` without one, or an error string.

    >>> time_window(Claim(index=0, kind="silence", text="", attributes={"time": "0-2s"}))
    (0.0, 2.0)
    >>> time_window(Claim(index=0, kind="silence", text="", attributes={"time": "at the end"}))
    "time window 'at the end' not understood (expected e.g. '0-2s')"
    """
    raw = claim.attributes.get("time")
    if raw is None:
        return None
    match = _TIME_RANGE.match(str(raw))
    if match is None:
        return f"time window {raw!r} not understood (expected e.g. '0-2s')"
    start, end = float(match.group(1)), float(match.group(2))
    if end <= start:
        return f"time window {raw!r} ends before it starts"
    return start, end
