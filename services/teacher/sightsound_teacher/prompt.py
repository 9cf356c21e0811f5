"""The teacher's audio-focused prompt, versioned.

The teacher is a vision-language model: it never hears the clip. The prompt asks it to reason from
what it *sees* towards what would be *heard*, to state its sound claims in the machine-readable block
that the verifier checks against the real audio, and to end with one letter. Every sample stores
``PROMPT_VERSION``; change the version whenever the wording changes, so traces stay comparable.

Messages use the OpenAI / Hugging Face multimodal shape (``content`` is a list of ``{"type": "image"}``
and ``{"type": "text", "text": ...}`` parts), so an OpenAI-compatible backend can send them as they
are; :func:`flatten_messages` turns them into plain strings with Qwen-VL vision placeholders for chat
templates that only accept strings.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sightsound.contracts.common import (
    ANSWER_CLOSE,
    ANSWER_OPEN,
    CHOICE_LETTERS,
    CLAIMS_CLOSE,
    CLAIMS_OPEN,
    THINK_CLOSE,
    THINK_OPEN,
)

PROMPT_VERSION = "audio-cot-v1"
#: The same prompt with each frame given as an image tagger's labels instead of pixels (text-only models).
PROMPT_VERSION_TAGS = "audio-cot-v1-tags"

#: Qwen2-VL / Qwen2.5-VL placeholder of one image; the backend expands ``<|image_pad|>`` to the
#: number of vision tokens of that image.
VISION_START = "<|vision_start|>"
IMAGE_PAD = "<|image_pad|>"
VISION_END = "<|vision_end|>"
IMAGE_PLACEHOLDER = VISION_START + IMAGE_PAD + VISION_END

Message = dict[str, Any]

SYSTEM_TEXT = f"""You are an expert listener who must answer questions about the SOUND of a video clip.
You cannot hear the clip: you only see silent frames, in time order. Infer what would be heard.

Work in this order:
1. Describe what you see that makes or implies sound: people talking or singing, animals,
   instruments, vehicles, machines, crowds, water, wind, and whether things look quiet or still.
2. Reason step by step about what is heard: which sources are audible, whether there is speech,
   music or silence, how loud it is and whether loudness rises or falls, the order of events.
3. List every sound claim you rely on in a {CLAIMS_OPEN} block, one claim per line, as key=value pairs
   separated by "; ". Keys: source, event, present (yes|no), count, order, time, loudness
   (rising|falling|steady|loud|quiet), pitch, tempo, words (quoted speech).
4. End with the letter of the single best choice in {ANSWER_OPEN}X{ANSWER_CLOSE}, X one of
   {", ".join(CHOICE_LETTERS)}.

Put the reasoning of steps 1 and 2 inside {THINK_OPEN}...{THINK_CLOSE}. Claim only what the answer
needs: each claim is checked against the real audio.

Example.
Frames: a man at a podium with a microphone, mouth open, an audience seated and still.
Question: What is the main sound in this clip?
A. A crowd cheering
B. A man giving a speech
C. Instrumental music
D. Silence
{THINK_OPEN}I see a man speaking into a microphone at a podium; his mouth moves across frames. The
audience sits still, so no cheering is likely until the end. No instruments are visible. The main
sound is his amplified voice, at a steady level.{THINK_CLOSE}
{CLAIMS_OPEN}
source=person; event=speech; present=yes
source=scene; event=sound; loudness=steady
{CLAIMS_CLOSE}
{ANSWER_OPEN}B{ANSWER_CLOSE}"""


def format_question(question: str, choices: Sequence[str]) -> str:
    """The question with lettered choices, one per line.

    >>> print(format_question("What is heard?", ["Speech", "Music", "A dog", "Silence"]))
    Question: What is heard?
    A. Speech
    B. Music
    C. A dog
    D. Silence
    """
    if len(choices) != len(CHOICE_LETTERS):
        raise ValueError(f"expected {len(CHOICE_LETTERS)} choices, got {len(choices)}")
    lines = [f"Question: {question.strip()}"]
    lines += [f"{letter}. {choice.strip()}" for letter, choice in zip(CHOICE_LETTERS, choices, strict=True)]
    return "\n".join(lines)


def build_messages(question: str, choices: Sequence[str], n_frames: int) -> list[Message]:
    """Chat messages: the system text, then a user turn with ``n_frames`` image parts and the question.

    >>> msgs = build_messages("What is heard?", ["a", "b", "c", "d"], 2)
    >>> [m["role"] for m in msgs], [p["type"] for p in msgs[1]["content"]]
    (['system', 'user'], ['text', 'image', 'image', 'text'])
    """
    if n_frames < 1:
        raise ValueError("at least one frame is needed")
    user: list[dict[str, str]] = [{"type": "text", "text": f"Frames of the clip, in time order ({n_frames}):"}]
    user += [{"type": "image"} for _ in range(n_frames)]
    user.append({"type": "text", "text": format_question(question, choices) + "\nFollow the format of the example."})
    return [
        {"role": "system", "content": [{"type": "text", "text": SYSTEM_TEXT}]},
        {"role": "user", "content": user},
    ]


def describe_frames(frame_tags: Sequence[Sequence[str]]) -> str:
    """One line per frame with its tags, in time order.

    >>> print(describe_frames([["espresso (94%)", "cup (2%)"], ["tabby (40%)"]]))
    Frame 1: espresso (94%), cup (2%)
    Frame 2: tabby (40%)
    """
    return "\n".join(f"Frame {i}: {', '.join(tags)}" for i, tags in enumerate(frame_tags, start=1))


def build_tag_messages(question: str, choices: Sequence[str], frame_tags: Sequence[Sequence[str]]) -> list[Message]:
    """Like :func:`build_messages`, for a text-only model: each frame is the list of an image tagger's labels.

    >>> msgs = build_tag_messages("What is heard?", ["a", "b", "c", "d"], [["cup (90%)"]])
    >>> [p["type"] for p in msgs[1]["content"]], "Frame 1: cup (90%)" in msgs[1]["content"][0]["text"]
    (['text', 'text'], True)
    """
    if not frame_tags:
        raise ValueError("at least one frame is needed")
    header = (
        f"Frames of the clip, in time order ({len(frame_tags)}), each described by an image tagger's most "
        "likely labels:\n" + describe_frames(frame_tags)
    )
    return [
        {"role": "system", "content": [{"type": "text", "text": SYSTEM_TEXT}]},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": header},
                {"type": "text", "text": format_question(question, choices) + "\nFollow the format of the example."},
            ],
        },
    ]


def flatten_messages(messages: Sequence[Message], image_placeholder: str = IMAGE_PLACEHOLDER) -> list[Message]:
    """Same messages with string contents; each image part becomes ``image_placeholder``.

    Text parts are joined with newlines; the placeholder sits on its own line, as Qwen's template does.

    >>> flat = flatten_messages(build_messages("q?", ["a", "b", "c", "d"], 1))
    >>> flat[1]["content"].count(IMAGE_PLACEHOLDER)
    1
    """
    flat: list[Message] = []
    for message in messages:
        content = message["content"]
        if isinstance(content, str):
            flat.append({"role": message["role"], "content": content})
            continue
        pieces = [image_placeholder if part["type"] == "image" else str(part["text"]) for part in content]
        flat.append({"role": message["role"], "content": "\n".join(pieces)})
    return flat
