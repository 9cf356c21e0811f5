"""The 1000 ImageNet-1k class names, in the classifier's output order, read from timm's data files.

timm (Apache-2.0) ships ``timm/data/_info/imagenet_synsets.txt`` (the 1000 WordNet ids in class order)
and ``imagenet_synset_to_lemma.txt`` (``id<TAB>lemma, lemma, ...``). The files are read from the
installed distribution *without importing timm* (its import pulls torchvision, which does not install
beside the CPU torch here): ``pip install --no-deps timm``.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from importlib import metadata
from pathlib import Path

SYNSETS_FILE = "timm/data/_info/imagenet_synsets.txt"
LEMMAS_FILE = "timm/data/_info/imagenet_synset_to_lemma.txt"
N_CLASSES = 1000


def _timm_file(relative: str) -> Path:
    try:
        dist = metadata.distribution("timm")
    except metadata.PackageNotFoundError as exc:
        raise RuntimeError("package timm is not installed: `pip install --no-deps timm`") from exc
    path = Path(str(dist.locate_file(relative)))
    if not path.exists():
        raise RuntimeError(f"{relative} is missing from the installed timm {dist.version}")
    return path


def parse_labels(synsets: Iterable[str], lemma_lines: Iterable[str]) -> list[str]:
    """Class names in synset order; each is the first lemma (the most common name), ``_`` as spaces.

    >>> parse_labels(["n01", "n02"], ["n02\\tgoldfish, Carassius auratus", "n01\\ttench, Tinca tinca", "n09\\tx"])
    ['tench', 'goldfish']
    """
    lemmas: dict[str, str] = {}
    for line in lemma_lines:
        if "\t" in line:
            synset, names = line.rstrip("\n").split("\t", 1)
            lemmas[synset.strip()] = names.split(",")[0].strip().replace("_", " ")
    ids = [s.strip() for s in synsets if s.strip()]
    missing = [s for s in ids if s not in lemmas]
    if missing:
        raise ValueError(f"{len(missing)} synsets have no lemma, e.g. {missing[0]}")
    return [lemmas[s] for s in ids]


@lru_cache(maxsize=1)
def imagenet_labels() -> tuple[str, ...]:
    """The 1000 ImageNet-1k class names, index = classifier output."""
    synsets = _timm_file(SYNSETS_FILE).read_text().splitlines()
    labels = parse_labels(synsets, _timm_file(LEMMAS_FILE).read_text().splitlines())
    if len(labels) != N_CLASSES:
        raise RuntimeError(f"expected {N_CLASSES} ImageNet classes, read {len(labels)}")
    return tuple(labels)
