"""The frame tagger: our EfficientNet-Lite0 with the shipped ImageNet weights, timm's class names."""

from __future__ import annotations

import pytest
import torch
from PIL import Image

from sightsound_teacher.efficientnet_lite import EfficientNetLite, load_lite0, same_padding
from sightsound_teacher.imagenet_labels import imagenet_labels, parse_labels
from sightsound_teacher.tagger import FrameTagger, Tag, load_tagger, preprocess, top_tags

skimage_data = pytest.importorskip("skimage.data")


@pytest.fixture(scope="module")
def tagger() -> FrameTagger:
    return load_tagger()


def test_the_state_dict_matches_the_network_exactly() -> None:
    model = load_lite0()  # strict: every shipped tensor has its place, none is missing
    assert isinstance(model, EfficientNetLite) and not model.training
    assert sum(p.numel() for p in model.parameters()) == 4_652_008  # EfficientNet-Lite0's 4.65M


def test_labels() -> None:
    labels = imagenet_labels()
    assert len(labels) == 1000 and len(set(labels)) > 990
    assert (labels[0], labels[1], labels[967]) == ("tench", "goldfish", "espresso")
    with pytest.raises(ValueError, match="no lemma"):
        parse_labels(["n1"], ["n2\tx"])


@pytest.mark.parametrize(
    ("photo", "expected"),
    [
        ("coffee", {"espresso", "cup", "coffee mug"}),
        ("chelsea", {"tabby", "tiger cat", "Egyptian cat"}),
        ("rocket", {"missile", "projectile"}),
    ],
)
def test_real_photos_get_the_right_tags(tagger: FrameTagger, photo: str, expected: set[str]) -> None:
    image = Image.fromarray(getattr(skimage_data, photo)())
    tags = tagger.tag([image], k=3)[0]
    assert tags[0].label in expected, tags
    assert tags[0].probability > 0.25 and tags[0].probability >= tags[1].probability >= tags[2].probability


def test_batch_of_frames_keeps_order(tagger: FrameTagger) -> None:
    coffee, cat = Image.fromarray(skimage_data.coffee()), Image.fromarray(skimage_data.chelsea())
    tags = tagger.tag([cat, coffee, cat], k=2)
    assert [row[0].label for row in tags] == [tags[0][0].label, "espresso", tags[0][0].label]
    assert tagger.tag([], k=2) == []


def test_preprocess() -> None:
    x = preprocess(Image.new("RGB", (640, 200), (255, 0, 127)))
    assert x.shape == (3, 224, 224)
    assert torch.allclose(x[:, 100, 100], torch.tensor([128 / 128, -127 / 128, 0.0]))


def test_helpers() -> None:
    assert same_padding(225, 3, 2) == (1, 1) and same_padding(224, 5, 2) == (1, 2)
    probabilities = torch.tensor([[0.1, 0.7, 0.2]])
    assert top_tags(probabilities, ["a", "b", "c"], 2) == [[Tag("b", pytest.approx(0.7)), Tag("c", pytest.approx(0.2))]]
    assert str(Tag("cup", 0.934)) == "cup (93%)"
