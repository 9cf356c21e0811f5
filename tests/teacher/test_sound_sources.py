"""What the embedded teacher claims from its view: ImageNet labels -> sound sources -> claim lines (pure)."""

from __future__ import annotations

import pytest

from sightsound.contracts.claim_language import is_valid_claim_line
from sightsound_teacher.imagenet_labels import imagenet_labels
from sightsound_teacher.regex_format import RowFormat
from sightsound_teacher.sound_sources import _GROUPS, _LABELS, source_for, view_claims
from sightsound_teacher.tagger import Tag


def tags(*rows: list[tuple[str, float]]) -> list[list[Tag]]:
    return [[Tag(label, p) for label, p in row] for row in rows]


@pytest.mark.parametrize(
    ("label", "line"),
    [
        ("goldfinch", "source=bird; event=chirp; present=yes"),
        ("Great Dane", "source=dog; event=bark; present=yes"),
        ("tabby", "source=cat; event=meow; present=yes"),
        ("microphone", "source=person; event=speech; present=yes"),
        ("violin", "source=music; event=music; instrument=violin; present=yes"),
        ("grand piano", "source=music; event=music; instrument=piano; present=yes"),
        ("sports car", "source=vehicle; event=engine; present=yes"),
        ("missile", "source=rocket; event=roar; present=yes"),
        ("wall clock", "source=clock; event=tick; present=yes"),
    ],
)
def test_a_label_gives_its_sources_claim(label: str, line: str) -> None:
    claims = view_claims(tags([(label, 0.9)], [(label, 0.8)]))
    assert claims.lines[0] == line
    assert all(is_valid_claim_line(one) for one in claims.lines)
    assert label in claims.prose()


def test_several_kinds_beyond_loudness() -> None:
    lines = [
        *view_claims(tags([("missile", 0.9)])).lines,
        *view_claims(tags([("wall clock", 0.9)])).lines,
        *view_claims(tags([("cup", 0.9)], [("cup", 0.7)])).lines,
        *view_claims(tags([("suit", 0.6)])).lines,
    ]
    assert "source=rocket; event=roar; loudness=loud" in lines
    assert "source=clock; event=tick; pattern=regular" in lines
    assert "source=scene; event=silence; present=yes" in lines
    assert "source=person; event=speech; present=yes" in lines


def test_weak_tags_are_hedged_and_very_weak_ones_ignored() -> None:
    claims = view_claims(tags([("tabby", 0.1), ("violin", 0.02)]))
    assert claims.lines == ("source=cat; event=meow; hedged=yes",)
    assert claims.sentences[0].startswith("perhaps a cat meows")
    clock = view_claims(tags([("bubble", 0.6), ("wall clock", 0.05)]))  # the synthetic set's clock photo
    assert clock.lines == (
        "source=clock; event=tick; hedged=yes",
        "source=clock; event=tick; pattern=regular; hedged=yes",
    )


def test_silence_when_nothing_sounds_hedged_unless_the_view_is_still() -> None:
    assert view_claims(tags([("cup", 0.9)], [("cup", 0.8)])).lines == ("source=scene; event=silence; present=yes",)
    moving = view_claims(tags([("cup", 0.9)], [("menu", 0.8)]))
    assert moving.lines == ("source=scene; event=silence; present=yes; hedged=yes",)


def test_at_most_three_sources_and_no_repeats() -> None:
    frame = [("tabby", 0.3), ("Egyptian cat", 0.3), ("violin", 0.2), ("beagle", 0.1), ("goldfinch", 0.1)]
    claims = view_claims(tags(frame))
    assert [line.split(";")[0] for line in claims.lines] == ["source=cat", "source=music", "source=dog"]


def test_table_names_real_imagenet_labels_and_every_line_fits_the_grammar() -> None:
    labels = set(imagenet_labels())
    assert set(_LABELS) <= labels, sorted(set(_LABELS) - labels)
    for indices, _ in _GROUPS:
        assert all(source_for(imagenet_labels()[i]) is not None for i in indices)
    for label in _LABELS:
        claims = view_claims(tags([(label, 0.9)]))
        RowFormat(claims.prose(), claims.lines, "A")  # refuses lines outside the open grammar
