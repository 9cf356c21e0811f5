"""The OpenAI wire format, pure: request bodies, token accounting, error messages, backoff, the regex."""

from __future__ import annotations

import base64
import io
from typing import Any

import pytest
from PIL import Image

from sightsound.clients.openai_chat import error_detail
from sightsound.clients.retry import retry_delay
from sightsound.contracts.teacher import SamplingParams
from sightsound_teacher.backends.openai_wire import (
    ResponseError,
    chat_body,
    image_data_uri,
    parse_chat_response,
    split_by_length,
    to_openai_messages,
)
from sightsound_teacher.prompt import build_messages

CHOICES = ["a", "b", "c", "d"]


def completion(*texts: str, usage: dict[str, int] | None = None, **choice_extra: Any) -> dict[str, Any]:
    choices = [
        {"index": i, "message": {"role": "assistant", "content": t}, "finish_reason": "stop"} | choice_extra
        for i, t in enumerate(texts)
    ]
    return {"choices": choices[::-1], "usage": usage or {"prompt_tokens": 100, "completion_tokens": 30}}


class TestRequest:
    def test_messages_carry_images_in_order(self) -> None:
        messages = to_openai_messages(build_messages("q?", CHOICES, 2), ["data:1", "data:2"])
        assert messages[0] == {"role": "system", "content": messages[0]["content"]}
        assert isinstance(messages[0]["content"], str)
        urls = [p["image_url"]["url"] for p in messages[1]["content"] if p["type"] == "image_url"]
        assert urls == ["data:1", "data:2"]

    def test_image_count_must_match(self) -> None:
        with pytest.raises(ValueError, match="fewer images"):
            to_openai_messages(build_messages("q?", CHOICES, 2), ["data:1"])
        with pytest.raises(ValueError, match="more images"):
            to_openai_messages(build_messages("q?", CHOICES, 1), ["data:1", "data:2"])

    def test_data_uri_is_a_jpeg(self) -> None:
        uri = image_data_uri(Image.new("RGBA", (20, 10), (1, 2, 3, 4)))
        image = Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])))
        assert uri.startswith("data:image/jpeg;base64,") and image.format == "JPEG" and image.size == (20, 10)

    def test_body_flavors(self) -> None:
        sampling = SamplingParams(temperature=0.7, top_p=0.9, max_new_tokens=128, seed=4)
        vllm = chat_body("m", [], sampling, 8, flavor="vllm", regex="x")
        assert (vllm["n"], vllm["max_tokens"], vllm["seed"], vllm["stream"]) == (8, 128, 4, False)
        assert vllm["return_token_ids"] is True and vllm["structured_outputs"] == {"regex": "x"}
        plain = chat_body("m", [], SamplingParams(seed=None), 2, flavor="openai", regex="x")
        assert "seed" not in plain and "return_token_ids" not in plain and "structured_outputs" not in plain


class TestResponse:
    def test_exact_counts_from_token_ids(self) -> None:
        body = completion("aa", "b", usage={"prompt_tokens": 7, "completion_tokens": 5}, token_ids=[1, 2, 3])
        generations = parse_chat_response(body, 2, 12.5)
        assert [g.text for g in generations] == ["aa", "b"]  # choices come back in index order
        assert [(g.prompt_tokens, g.completion_tokens, g.completion_tokens_estimated) for g in generations] == [
            (7, 3, False),
            (7, 3, False),
        ]
        assert generations[0].latency_ms == 12.5

    def test_exact_counts_from_logprobs(self) -> None:
        body = completion("x", logprobs={"content": [{"token": "x"}, {"token": "y"}]})
        assert parse_chat_response(body, 1, 1.0)[0].completion_tokens == 2

    def test_estimated_counts_split_usage(self) -> None:
        generations = parse_chat_response(completion("aaaa", "a", usage={"completion_tokens": 10}), 2, 1.0)
        assert [g.completion_tokens for g in generations] == [8, 2]
        assert all(g.completion_tokens_estimated for g in generations) and generations[0].prompt_tokens == 0

    def test_null_content_is_empty_text(self) -> None:
        body = completion("x")
        body["choices"][0]["message"]["content"] = None
        assert parse_chat_response(body, 1, 1.0)[0].text == ""

    @pytest.mark.parametrize(
        ("body", "message"),
        [
            ({}, "no `choices`"),
            (completion("a"), "n=2"),
            ({"choices": [{"index": 0}, {"index": 1}]}, "no `message`"),
        ],
    )
    def test_unusable(self, body: dict[str, Any], message: str) -> None:
        with pytest.raises(ResponseError, match=message):
            parse_chat_response(body, 2, 1.0)

    @pytest.mark.parametrize("total", [0, 1, 7, 100])
    @pytest.mark.parametrize("texts", [["a"], ["", ""], ["abc", "", "defgh", "i"]])
    def test_split_sums_to_total(self, total: int, texts: list[str]) -> None:
        counts = split_by_length(total, texts)
        assert sum(counts) == total and len(counts) == len(texts) and min(counts) >= 0


class TestErrors:
    @pytest.mark.parametrize(
        ("text", "detail"),
        [
            ('{"error": {"message": "bad image"}}', "bad image"),
            ('{"error": "quota"}', "quota"),
            ('{"detail": "Not Found"}', "Not Found"),
            ('{"message": "oops"}', "oops"),
            ("", "HTTP 502 with an empty body"),
            ("x" * 400, "x" * 300 + "…"),
        ],
    )
    def test_detail(self, text: str, detail: str) -> None:
        assert error_detail(502, text) == detail

    def test_backoff(self) -> None:
        assert [retry_delay(a, 1.0) for a in range(4)] == [1.0, 2.0, 4.0, 8.0]
        assert retry_delay(5, 1.0, "3") == 3.0 and retry_delay(0, 1.0, "-4") == 0.0
