"""The pure rules of the student's OpenAI route: lettered choices, one user message with one audio part,
the options the student cannot honour. Grouped into valid, invalid and mixed cases."""

from __future__ import annotations

from typing import Any

import pytest

from sightsound.contracts.student import check_choices
from sightsound_student.chat import chat_query, unsupported_option
from sightsound_student.errors import StudentRequestError
from sightsound_student.lettered import split_lettered_choices
from sightsound_student.openai_protocol import ChatCompletionRequest

AUDIO = {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}}


def request(*parts: dict[str, Any], **options: Any) -> ChatCompletionRequest:
    return ChatCompletionRequest.model_validate(
        {"model": "sightsound-student", "messages": [{"role": "user", "content": list(parts)}], **options}
    )


def text(value: str) -> dict[str, Any]:
    return {"type": "text", "text": value}


# --- lettered choices: valid ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "question", "choices"),
    [
        ("What is heard?\nA. A dog\nB. A cat", "What is heard?", ["A dog", "A cat"]),
        ("What is heard?\nA) dog\nB) cat\nC) rain\nD) speech", "What is heard?", ["dog", "cat", "rain", "speech"]),
        ("What is heard?\n(A) dog\n(B) cat", "What is heard?", ["dog", "cat"]),
        ("What is heard?\na: dog\nb: cat", "What is heard?", ["dog", "cat"]),
        ("What is heard?\n  A.  dog  \n  B.  cat", "What is heard?", ["dog", "cat"]),
        ("Listen.\nWhat is heard?\nA. dog\nB. cat\nAnswer with the letter.", "Listen.\nWhat is heard?", ["dog", "cat"]),
        ("A. dog\nB. cat\nWhich one barks?", "Which one barks?", ["dog", "cat"]),
    ],
)
def test_lettered_lines_become_choices(raw: str, question: str, choices: list[str]) -> None:
    split = split_lettered_choices(raw)
    assert split.question == question
    assert split.choices == choices


# --- lettered choices: not choices ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "Describe the sound.",
        "Is it loud?\nA. yes",  # a single option
        "What is heard?\nB. dog\nC. cat",  # does not start at A
        "What is heard?\nA.dog\nB.cat",  # no space after the marker: prose, not a list
        "A dog barks. What else?",
    ],
)
def test_text_without_a_lettered_list_is_a_free_question(raw: str) -> None:
    split = split_lettered_choices(raw)
    assert split.choices is None
    assert split.question == raw.strip()


# --- mixed: a list that stops being one ---------------------------------------------------------------------


def test_the_list_ends_at_the_first_line_out_of_sequence() -> None:
    split = split_lettered_choices("Q?\nA. one\nB. two\nD. four\nC. three")
    assert split.choices == ["one", "two"]
    assert split.question == "Q?"


def test_at_most_four_choices_are_read() -> None:
    split = split_lettered_choices("Q?\nA. a\nB. b\nC. c\nD. d\nE. e")
    assert split.choices == ["a", "b", "c", "d"]


# --- chat requests: valid ------------------------------------------------------------------------------------


def test_a_user_message_with_text_and_one_audio_part_is_one_query() -> None:
    query = chat_query(request(text("What is heard?\nA. dog\nB. cat"), AUDIO, max_completion_tokens=7, seed=3))
    assert query.question == "What is heard?"
    assert query.choices == ["dog", "cat"]
    assert query.audio.format == "wav" and query.audio.data == "UklGRg=="
    assert query.max_new_tokens == 7 and query.seed == 3
    assert query.temperature == 0.0  # greedy unless asked


def test_answer_choices_win_over_lettered_lines_and_max_tokens_is_the_fallback() -> None:
    query = chat_query(request(text("Which animal?"), AUDIO, answer_choices=["dog", "cat", "cow"], max_tokens=5,
                               temperature=0.7))
    assert query.choices == ["dog", "cat", "cow"]
    assert query.max_new_tokens == 5 and query.temperature == 0.7


def test_text_parts_are_joined_and_the_audio_may_come_first() -> None:
    query = chat_query(request(AUDIO, text("What is heard?"), text("A. dog\nB. cat")))
    assert query.question == "What is heard?" and query.choices == ["dog", "cat"]


def test_harmless_defaults_of_openai_clients_are_accepted() -> None:
    assert unsupported_option(request(n=1, stream=False, top_p=1, frequency_penalty=0, presence_penalty=0,
                                      logprobs=False, tool_choice="none", user="someone")) is None


# --- chat requests: invalid ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"messages": []}, ["messages is empty"]),
        ({"messages": [{"role": "user", "content": "What is heard?"}]}, ["exactly one input_audio part", "found 0"]),
        ({"messages": [{"role": "user", "content": [text("Q?")]}]}, ["exactly one input_audio part", "found 0"]),
        ({"messages": [{"role": "user", "content": [text("Q?"), AUDIO, AUDIO]}]}, ["found 2", "one clip"]),
        ({"messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": [text("Q?"), AUDIO]}]},
         ["'system' message", "trained on"]),
        ({"messages": [{"role": "user", "content": [text("Q?"), AUDIO]}, {"role": "user", "content": "and?"}]},
         ["2 user messages"]),
        ({"messages": [{"role": "user", "content": [text("Q?"), {"type": "image_url", "image_url": {"url": "x"}}]}]},
         ["'image_url'", "text` and `input_audio"]),
        ({"messages": [{"role": "user", "content": [text("Q?"), {"type": "input_audio", "input_audio": {
            "data": "AAAA", "format": "aiff"}}]}]}, ["input_audio.format", "wav, mp3, flac or ogg"]),
        ({"messages": [{"role": "user", "content": [text("   "), AUDIO]}]}, ["question is empty"]),
        ({"messages": [{"role": "user", "content": [AUDIO]}]}, ["question is empty"]),
        ({"messages": [{"role": "user", "content": [text("Q?\nA. dog\nB. Dog"), AUDIO]}]}, ["'dog' appears twice"]),
        ({"messages": [{"role": "user", "content": [text("Q?"), AUDIO]}], "answer_choices": ["only one"]},
         ["2 to 4 choices (got 1)"]),
        ({"messages": [{"role": "user", "content": [text("Q?"), AUDIO]}], "answer_choices": list("abcde")},
         ["2 to 4 choices (got 5)"]),
        ({"messages": [{"role": "user", "content": [text("Q?"), AUDIO]}], "n": 2}, ["n=2 is not supported"]),
        ({"messages": [{"role": "user", "content": [text("Q?"), AUDIO]}], "stream": True},
         ["stream=true is not supported"]),
        ({"messages": [{"role": "user", "content": [text("Q?"), AUDIO]}], "tools": [{"type": "function"}]},
         ["tools are not supported"]),
        ({"messages": [{"role": "user", "content": [text("Q?"), AUDIO]}], "stop": ["\n"]}, ["stop strings"]),
        ({"messages": [{"role": "user", "content": [text("Q?"), AUDIO]}], "top_p": 0.9}, ["top_p"]),
        ({"messages": [{"role": "user", "content": [text("Q?"), AUDIO]}], "temperature": 3}, ["between 0 and 2"]),
    ],
)
def test_what_the_student_cannot_answer_is_a_400_that_says_why(body: dict[str, Any], words: list[str]) -> None:
    with pytest.raises(StudentRequestError) as caught:
        chat_query(ChatCompletionRequest.model_validate(body))
    assert caught.value.status == 400
    for word in words:
        assert word in caught.value.message, caught.value.message


# --- choices of the native contract ----------------------------------------------------------------------------


@pytest.mark.parametrize("choices", [["a"], ["a", "b", "c", "d", "e"], ["a", " "], ["a", "A "]])
def test_choices_need_two_to_four_distinct_non_empty_strings(choices: list[str]) -> None:
    with pytest.raises(ValueError, match="choices"):
        check_choices(choices)
