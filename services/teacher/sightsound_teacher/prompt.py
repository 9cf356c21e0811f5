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
from typing import TYPE_CHECKING, Any

from sightsound.contracts.claim_language import CLAIM_FORMAT_VERSION, CLAIM_KEYS_V2, CLAIM_VALUE_SYNTAX
from sightsound.contracts.common import (
    ANSWER_CLOSE,
    ANSWER_OPEN,
    CHOICE_LETTERS,
    CLAIMS_CLOSE,
    CLAIMS_OPEN,
    THINK_CLOSE,
    THINK_OPEN,
)

if TYPE_CHECKING:
    from sightsound_teacher.tagger import Tag

#: v3: claims in claim language version 2 (every key documented from the contract, open sources and
#: events, inequalities, windows, patterns, comparisons; examples with several kinds of claim). v1 taught
#: only the six v1 keys and showed speech and steady loudness.
PROMPT_VERSION = f"audio-cot-v3-claims{CLAIM_FORMAT_VERSION}"
#: For text-only models: frames given as an image tagger's labels (:data:`SYSTEM_TEXT_TAGS`). Since v2: no
#: scene-description example (small models copied it whatever the frames showed), runs of frames with the
#: same labels on one line. v3: claim language version 2, as :data:`PROMPT_VERSION`.
PROMPT_VERSION_TAGS = f"audio-cot-v3-claims{CLAIM_FORMAT_VERSION}-tags"
#: The tags prompt with a likely answer stated before the reasoning (:func:`build_tag_messages` with
#: ``likely``): the embedded teacher chooses the answer from the choices' likelihoods first.
PROMPT_VERSION_TAGS_SCORED = f"audio-cot-v3-claims{CLAIM_FORMAT_VERSION}-tags-scored"

#: Qwen2-VL / Qwen2.5-VL placeholder of one image; the backend expands ``<|image_pad|>`` to the
#: number of vision tokens of that image.
VISION_START = "<|vision_start|>"
IMAGE_PAD = "<|image_pad|>"
VISION_END = "<|vision_end|>"
IMAGE_PLACEHOLDER = VISION_START + IMAGE_PAD + VISION_END

Message = dict[str, Any]

def claim_keys_text() -> str:
    """Every key of the claim language with its documented values, one per line (from the contract).

    >>> claim_keys_text().splitlines()[0]
    '  source: what makes the sound: person, man, child, dog, car, door, scene, music, ...'
    """
    return "\n".join(f"  {key}: {CLAIM_VALUE_SYNTAX[key][0]}" for key in CLAIM_KEYS_V2 if key in CLAIM_VALUE_SYNTAX)


#: How claims are written, shared by both system texts.
CLAIMS_HOW = f"""List every sound claim you rely on in a {CLAIMS_OPEN} block, one claim per line, as key=value pairs
   separated by "; ". Name any source and any event in your own words (a dog barks: source=dog; event=bark;
   a horn sounds twice: source=horn; event=honk; count=2; the cat meows after the door opens:
   source=cat; event=meow; order=after door opening). count, pitch, tempo, duration and gap also take
   <, >, <= or >= (count>=3). present=no denies the line. hedged=yes marks a sound you only suspect."""

SYSTEM_TEXT = f"""You are an expert listener who must answer questions about the SOUND of a video clip.
You cannot hear the clip: you only see silent frames, in time order. Infer what would be heard.

Work in this order:
1. Describe what you see that makes or implies sound: people talking or singing, animals,
   instruments, vehicles, machines, crowds, water, wind, and whether things look quiet or still.
2. Reason step by step about what is heard: which sources are audible and when, whether there is
   speech, music or silence, how often each sound happens and in what order, what overlaps, how loud
   and how high it is and how that changes, tempo and patterns.
3. {CLAIMS_HOW}
   Keys:
{claim_keys_text()}
4. End with the letter of the single best choice in {ANSWER_OPEN}X{ANSWER_CLOSE}, X one of
   {", ".join(CHOICE_LETTERS)}.

Put the reasoning of steps 1 and 2 inside {THINK_OPEN}...{THINK_CLOSE}. Claim only what the answer
needs: each claim is checked against the real audio.

Example.
Frames: a man at a podium with a microphone, mouth open; an audience seated and still; in the last
frames the audience raises its hands.
Question: What is the main sound in this clip?
A. A crowd cheering
B. A man giving a speech
C. Instrumental music
D. Silence
{THINK_OPEN}I see a man speaking into a microphone at a podium; his mouth moves in most frames, so his
amplified voice fills most of the clip at a steady level. The audience sits still until the last frames,
where raised hands suggest applause at the end, though I cannot be sure. No instruments are visible, so
no music. The main sound is his speech.{THINK_CLOSE}
{CLAIMS_OPEN}
source=man; event=speech; present=yes; coverage=most; loudness=steady
source=audience; event=applause; window=end; hedged=yes
source=music; event=music; present=no
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


#: The system text of the tags prompt: the same task and format as :data:`SYSTEM_TEXT`, frames as labels,
#: and no worked example (a 135M model copied the example's scene into every answer; the format is
#: enforced by structured decoding anyway).
SYSTEM_TEXT_TAGS = f"""You are an expert listener who must answer questions about the SOUND of a video clip.
You cannot hear the clip. An image tagger looked at its silent frames, in time order, and gives the most
likely labels of each frame with its confidence (labels of low confidence are often wrong).
Infer what would be heard.

Work in this order:
1. Say which labels make or imply sound (people, animals, instruments, vehicles, machines, water,
   wind) and which say nothing about sound.
2. Reason step by step about what is heard: which sources are audible, whether there is speech,
   music or silence, how often and in what order, how loud it is and whether loudness rises or falls.
3. {CLAIMS_HOW}
   Keys: {", ".join(CLAIM_KEYS_V2)}.
4. End with the letter of the single best choice in {ANSWER_OPEN}X{ANSWER_CLOSE}, X one of
   {", ".join(CHOICE_LETTERS)}.

Put the reasoning of steps 1 and 2 inside {THINK_OPEN}...{THINK_CLOSE}. Claim only what the answer
needs: each claim is checked against the real audio."""


#: A worked example for the tags prompt, given as one user / assistant exchange before the question: its
#: labels, not a scene description, so a small model learns to reason from the labels it is given.
#: (The v1 example described a scene, "a man ... at a podium", which SmolLM2-135M copied into 94% of its
#: reasoning on the synthetic set.) Its subject, a train, is in none of the synthetic set's photos or choices,
#: so copying it stays measurable.
TAGS_EXAMPLE_FRAMES = "Frames 1-4: steam locomotive (71%), passenger car (12%), electric locomotive (5%)"
TAGS_EXAMPLE_QUESTION = "What is making the sound in this clip?"
TAGS_EXAMPLE_CHOICES = ("a dog barking", "a train passing", "rain falling", "a choir singing")
TAGS_EXAMPLE_ANSWER = 1
TAGS_EXAMPLE_THINK = (
    "The labels show a steam locomotive and a passenger car in every frame: a train rumbles through the whole "
    "clip, and a passing train is loud. No label suggests a dog, rain or a choir, so no dog barks. The sound "
    "is a train passing."
)
TAGS_EXAMPLE_OUTPUT = f"""{THINK_OPEN}{TAGS_EXAMPLE_THINK}{THINK_CLOSE}
{CLAIMS_OPEN}
source=train; event=rumble; present=yes; coverage=whole; loudness=loud
source=dog; event=bark; present=no
{CLAIMS_CLOSE}
{ANSWER_OPEN}{CHOICE_LETTERS[TAGS_EXAMPLE_ANSWER]}{ANSWER_CLOSE}"""


def _frame_range(first: int, last: int) -> str:
    return f"Frame {first}" if first == last else f"Frames {first}-{last}"


def describe_frames(frame_tags: Sequence[Sequence[Tag]]) -> str:
    """One line per run of consecutive frames with the same labels, in time order; each label with its
    mean probability over the run, most probable first.

    >>> from sightsound_teacher.tagger import Tag
    >>> print(describe_frames([[Tag("tabby", 0.5), Tag("cup", 0.1)], [Tag("cup", 0.2), Tag("tabby", 0.3)],
    ...                        [Tag("espresso", 0.94)]]))
    Frames 1-2: tabby (40%), cup (15%)
    Frame 3: espresso (94%)
    """
    lines = []
    start = 0
    for end in range(1, len(frame_tags) + 1):
        if end < len(frame_tags) and {t.label for t in frame_tags[end]} == {t.label for t in frame_tags[start]}:
            continue
        run = frame_tags[start:end]
        means: dict[str, float] = {}
        for row in run:
            for tag in row:
                means[tag.label] = means.get(tag.label, 0.0) + tag.probability / len(run)
        ranked = sorted(means.items(), key=lambda item: -item[1])
        lines.append(f"{_frame_range(start + 1, end)}: " + ", ".join(f"{label} ({p:.0%})" for label, p in ranked))
        start = end
    return "\n".join(lines)


def likely_answer_line(choices: Sequence[str], index: int) -> str:
    """The line that states the answer chosen before the reasoning (:data:`PROMPT_VERSION_TAGS_SCORED`).

    >>> likely_answer_line(["Speech", "Music", "A dog", "Silence"], 2)
    'The likely answer, judged from the labels: C. A dog'
    """
    return f"The likely answer, judged from the labels: {CHOICE_LETTERS[index]}. {choices[index].strip()}"


def _tags_user_turn(n_frames: int, frames_text: str, question_text: str) -> Message:
    header = (
        f"Frames of the clip, in time order ({n_frames}), each described by an image tagger's most likely labels:\n"
        + frames_text
    )
    return {"role": "user", "content": [{"type": "text", "text": header}, {"type": "text", "text": question_text}]}


def build_tag_messages(
    question: str, choices: Sequence[str], frame_tags: Sequence[Sequence[Tag]], likely: int | None = None
) -> list[Message]:
    """Messages for a text-only model: the system text, the worked example (a user / assistant exchange),
    then the question with each frame as the list of an image tagger's labels. ``likely``: the index of
    an answer chosen beforehand, stated after the choices (the scored variant; the example states its
    answer the same way).

    >>> from sightsound_teacher.tagger import Tag
    >>> msgs = build_tag_messages("What is heard?", ["a", "b", "c", "d"], [[Tag("cup", 0.9)]], likely=1)
    >>> [m["role"] for m in msgs], [p["type"] for p in msgs[3]["content"]]
    (['system', 'user', 'assistant', 'user'], ['text', 'text'])
    >>> "Frame 1: cup (90%)" in msgs[3]["content"][0]["text"], msgs[3]["content"][1]["text"].splitlines()[-1]
    (True, 'The likely answer, judged from the labels: B. b')
    """
    if not frame_tags:
        raise ValueError("at least one frame is needed")
    example_question = format_question(TAGS_EXAMPLE_QUESTION, TAGS_EXAMPLE_CHOICES)
    question_text = format_question(question, choices)
    if likely is not None:
        example_question += "\n" + likely_answer_line(TAGS_EXAMPLE_CHOICES, TAGS_EXAMPLE_ANSWER)
        question_text += "\n" + likely_answer_line(choices, likely)
    return [
        {"role": "system", "content": [{"type": "text", "text": SYSTEM_TEXT_TAGS}]},
        _tags_user_turn(4, TAGS_EXAMPLE_FRAMES, example_question),
        {"role": "assistant", "content": [{"type": "text", "text": TAGS_EXAMPLE_OUTPUT}]},
        _tags_user_turn(len(frame_tags), describe_frames(frame_tags), question_text),
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
