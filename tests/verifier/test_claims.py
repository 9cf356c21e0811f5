"""Claim extraction: valid, invalid and mixed traces (pure, no audio)."""

from __future__ import annotations

import random
import string

import pytest

from sightsound.contracts.common import ClaimKind
from sightsound.contracts.verifier import Claim
from sightsound_verifier.claims import (
    ORIGIN_BLOCK,
    ORIGIN_FREE_TEXT,
    ORIGIN_PROSE,
    asserts_presence,
    asserts_silence,
    extract_claims,
    infer_kind,
    time_window,
)

TEACHER_TRACE = """<think>A man talks at a podium; the hall is otherwise quiet.</think>
<claims>
source=person; event=speech; present=yes
source=scene; event=silence; present=no
source=scene; event=sound; loudness=rising
</claims>
<answer>B</answer>"""


# --- valid -------------------------------------------------------------------------------------


def test_teacher_example_block():
    out = extract_claims(TEACHER_TRACE, 64)
    assert out.errors == []
    assert not out.from_free_text
    block = [c for c in out.claims if c.attributes["extracted_from"] == ORIGIN_BLOCK]
    assert [c.kind for c in block] == [ClaimKind.speech_presence, ClaimKind.silence, ClaimKind.loudness]
    assert [c.index for c in out.claims] == list(range(len(out.claims)))
    # the prose "the hall is otherwise quiet" is a claim too: quiet except for the speech, never "silent"
    prose = [c for c in out.claims if c.attributes["extracted_from"] == ORIGIN_PROSE]
    assert [(c.kind, c.attributes.get("except")) for c in prose] == [(ClaimKind.exception, "speech")]
    assert out.claims[0].text == "source=person; event=speech; present=yes"
    assert out.claims[1].attributes == {
        "source": "scene",
        "event": "silence",
        "present": "no",
        "extracted_from": ORIGIN_BLOCK,
    }
    assert asserts_presence(out.claims[0]) and not asserts_presence(out.claims[1])
    assert out.claims[2].attributes["loudness"] == "rising"


def test_quoted_values_keep_semicolons_and_case():
    out = extract_claims('<claims>\nsource=man; event=speech; words="Stop; NOW"\n</claims>', 8)
    assert out.errors == []
    (claim,) = out.claims
    assert claim.kind is ClaimKind.speech_content
    assert claim.attributes["words"] == "Stop; NOW"


def test_bullets_blank_lines_case_and_spacing_are_tolerated():
    text = "<CLAIMS>\n\n- Source = person ;EVENT=talking; present=TRUE\n  2. event=silence ; present=0\n</Claims>"
    out = extract_claims(text, 8)
    assert out.errors == []
    assert [(c.kind, asserts_presence(c)) for c in out.claims] == [
        (ClaimKind.speech_presence, True),
        (ClaimKind.silence, False),
    ]


@pytest.mark.parametrize(
    ("pairs", "kind"),
    [
        ({"kind": "tempo", "event": "speech"}, ClaimKind.tempo),  # explicit kind wins
        ({"event": "speech", "words": "hi"}, ClaimKind.speech_content),
        ({"words": "hi"}, ClaimKind.speech_content),
        ({"event": "talking", "loudness": "rising"}, ClaimKind.loudness),  # the attribute wins over speech
        ({"source": "man", "event": "speech", "pitch": "low"}, ClaimKind.pitch),
        ({"event": "speech", "order": "before music"}, ClaimKind.temporal_order),
        ({"event": "music", "order": "after speech"}, ClaimKind.temporal_order),
        ({"event": "beep", "count": "3"}, ClaimKind.event_count),
        ({"event": "music", "tempo": "fast"}, ClaimKind.tempo),
        ({"event": "singing"}, ClaimKind.singing),
        ({"source": "dog", "event": "bark"}, ClaimKind.sound_source),
        ({"event": "silence", "loudness": "quiet"}, ClaimKind.silence),
        ({"source": "crowd", "event": "cheer", "loudness": "rising"}, ClaimKind.loudness),
        ({"source": "dog", "event": "bark", "count": "3"}, ClaimKind.event_count),
        ({"source": "bird", "pitch": "high"}, ClaimKind.pitch),
        ({"source": "drum", "tempo": "fast"}, ClaimKind.tempo),
        ({"source": "woman", "event": "singing"}, ClaimKind.singing),
        ({"source": "band", "event": "playing"}, ClaimKind.music),
        ({"event": "music"}, ClaimKind.music),
        ({"source": "dog", "event": "bark", "order": "dog before car"}, ClaimKind.temporal_order),
        ({"source": "scene", "event": "sound"}, ClaimKind.silence),  # generic sound of the scene
        ({"source": "dog", "event": "sound"}, ClaimKind.sound_source),  # a specific source is not silence
        ({"source": "car", "event": "engine"}, ClaimKind.sound_source),
        ({"time": "0-2s"}, ClaimKind.other),
    ],
)
def test_kind_inference(pairs, kind):
    assert infer_kind(pairs) == (kind, None)


def test_generic_sound_polarity():
    def claim(**attrs: str) -> Claim:
        return Claim(index=0, kind=ClaimKind.silence, text="", attributes=attrs)

    assert asserts_silence(claim(event="silence"))
    assert not asserts_silence(claim(event="silence", present="no"))
    assert not asserts_silence(claim(source="scene", event="sound"))
    assert asserts_silence(claim(source="scene", event="sound", present="no"))


@pytest.mark.parametrize(
    ("value", "window"),
    [("0-2s", (0.0, 2.0)), ("1.5 s - 3 s", (1.5, 3.0)), ("2 to 4 seconds", (2.0, 4.0)), ("0..1", (0.0, 1.0))],
)
def test_time_windows(value, window):
    assert time_window(Claim(index=0, kind=ClaimKind.other, text="", attributes={"time": value})) == window


def test_bad_time_windows_are_reported_not_raised():
    for value in ("at the end", "3-1s"):
        got = time_window(Claim(index=0, kind=ClaimKind.other, text="", attributes={"time": value}))
        assert isinstance(got, str) and value in got


# --- free text fallback ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<think>Someone is speaking to the camera.</think><answer>A</answer>", [("speech_presence", "yes", None)]),
        ("A woman talks while a car passes.", [("speech_presence", "yes", None)]),
        ("There is no sound at all.", [("silence", "yes", None)]),
        ("The room is completely silent.", [("silence", "yes", None)]),
        ("The room is not silent.", [("silence", "no", None)]),
        ("The engine gets louder as it approaches.", [("loudness", "yes", "rising")]),
        ("The music fades out at the end.", [("loudness", "yes", "falling")]),
        ("Nobody is talking, there is no speech.", [("speech_presence", "no", None)]),  # deduplicated
        ("He isn't speaking.", [("speech_presence", "no", None)]),
        ("The hum does not get louder.", [("loudness", "no", "rising")]),
    ],
)
def test_free_text_claims(text, expected):
    out = extract_claims(text, 8)
    assert out.from_free_text
    got = [(c.kind.value, c.attributes["present"], c.attributes.get("loudness")) for c in out.claims]
    assert got == expected
    assert all(c.attributes["extracted_from"] == ORIGIN_FREE_TEXT for c in out.claims)
    assert any("no <claims> block" in e for e in out.errors)


def test_free_text_ignores_answer_and_unrelated_prose():
    text = "<think>The frames show silent frames of a red car.</think><answer>no sound</answer>"
    out = extract_claims(text, 8)
    assert out.claims == []
    assert out.errors == ["no <claims> block and no sound claim recognised in the prose"]


def test_free_text_snippet_is_the_sentence():
    out = extract_claims("First we see a park. Then a man is talking loudly! Birds fly.", 8)
    assert [c.text for c in out.claims] == ["Then a man is talking loudly"]


# --- invalid -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("source person", "is not key=value"),
        ("source=person; present", "is not key=value"),
        ('source=person; words="unclosed', "unclosed quote"),
        ("source=person; event=", "empty value"),
        ("event=speech; present=maybe", "present must be yes or no"),
        ("event=speech; event=music", "given twice"),
        ("2bad=key", "bad key"),
        ("extracted_from=block", "reserved"),
        ('words=say "hi" now', "stray quote"),
        ('words="he said "hi" twice"', "stray quote"),
        (";;;", "has no key=value pair"),
    ],
)
def test_malformed_lines_are_dropped_with_an_error(line, message):
    out = extract_claims(f"<claims>\n{line}\n</claims>", 8)
    assert out.claims == []
    assert len(out.errors) == 1
    assert out.errors[0].startswith("claims line 1:") and message in out.errors[0]


def test_unknown_kind_is_reported_and_inferred():
    out = extract_claims("<claims>\nkind=timbre; event=speech\n</claims>", 8)
    assert [c.kind for c in out.claims] == [ClaimKind.speech_presence]
    assert "unknown kind 'timbre'" in out.errors[0]


def test_unclosed_block_reads_up_to_the_answer():
    out = extract_claims("<claims>\nevent=speech; present=no\n<answer>A</answer>", 8)
    assert [c.attributes["present"] for c in out.claims] == ["no"]
    assert out.errors == ["unclosed <claims> block; read up to <answer>"]
    out = extract_claims("<claims>\nevent=speech", 8)
    assert len(out.claims) == 1 and "end of text" in out.errors[0]


def test_stray_close_and_extra_blocks():
    out = extract_claims("Someone is speaking.</claims>", 8)
    assert out.from_free_text and "</claims> without <claims>" in out.errors
    out = extract_claims("<claims>\nevent=speech\n</claims><claims>\nevent=music\n</claims>", 8)
    assert [c.kind for c in out.claims] == [ClaimKind.speech_presence]
    assert out.errors == ["1 more <claims> block(s) after the first were ignored"]


def test_empty_block_still_checks_the_prose():
    """Issue 10: prose claims are checked even when a (here empty) claims block exists."""
    out = extract_claims("Someone is speaking.<claims>\n</claims>", 8)
    assert out.errors == [] and not out.from_free_text
    assert [(c.kind, c.attributes["extracted_from"]) for c in out.claims] == [(ClaimKind.speech_presence, ORIGIN_PROSE)]


def test_random_text_never_raises():
    rng = random.Random(0)
    alphabet = string.printable + '";=<>/éß'
    pieces = ["<claims>", "</claims>", "<answer>", "present=", "event=speech", '"', ";", "\n", "="]
    for _ in range(300):
        text = "".join(rng.choice(pieces) if rng.random() < 0.3 else rng.choice(alphabet) for _ in range(120))
        out = extract_claims(text, 5)
        assert len(out.claims) <= 5
        assert all(isinstance(e, str) for e in out.errors)


# --- mixed -------------------------------------------------------------------------------------


def test_mixed_block_keeps_good_lines_in_order():
    text = "<claims>\nevent=speech; present=yes\nthis is prose\nevent=silence; present=no\npresent=perhaps\n</claims>"
    out = extract_claims(text, 8)
    assert [(c.index, c.kind) for c in out.claims] == [(0, ClaimKind.speech_presence), (1, ClaimKind.silence)]
    assert [e.split(":")[0] for e in out.errors] == ["claims line 2", "claims line 4"]


def test_cap_reports_unchecked_claims():
    body = "\n".join(f"source=thing{i}; event=sound" for i in range(1000))
    out = extract_claims(f"<claims>\n{body}\n</claims>", 64)
    assert len(out.claims) == 64 and out.found == 1000 and out.unchecked == 936
    assert out.claims[-1].index == 63
    assert out.errors == ["1000 claims found; only the first 64 are checked (verifier_max_claims), 936 ignored"]


def test_error_list_is_capped():
    body = "\n".join("garbage" for _ in range(50))
    out = extract_claims(f"<claims>\n{body}\n</claims>", 64)
    assert len(out.errors) == 21 and out.errors[-1] == "... and 30 more parse errors"
