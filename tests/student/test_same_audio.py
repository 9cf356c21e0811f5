"""Training, serving and the verifier hear the same 16 kHz samples of a file, and the student gets the
same inputs in training as in serving (one decode/resample path: ``sightsound.media.waveform``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch

from sightsound.media.waveform import SAMPLE_RATE
from sightsound_student.audio_input import AudioLimits, waveform_from_bytes
from sightsound_student_model.batches import load_waveform, prompt_batch
from sightsound_student_model.loading import load_student
from sightsound_verifier.audio import decode_audio

LIMITS = AudioLimits(max_seconds=60.0, max_bytes=10_000_000)


@pytest.fixture(scope="module", params=[(44_100, 2, "WAV"), (22_050, 1, "FLAC"), (16_000, 1, "WAV")])
def recording(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tone with noise at a rate, channel count and format that need decoding and (mostly) resampling."""
    rate, channels, fmt = request.param
    t = np.arange(int(1.7 * rate)) / rate
    rng = np.random.default_rng(rate)
    mono = 0.4 * np.sin(2 * np.pi * 440 * t) + 0.05 * rng.standard_normal(len(t))
    data = np.stack([mono, 0.5 * mono], axis=1)[:, :channels].astype(np.float32)
    path = tmp_path_factory.mktemp("rec") / f"clip-{rate}.{fmt.lower()}"
    soundfile.write(path, data, rate, format=fmt)
    return path


def test_training_serving_and_verifier_decode_identical_samples(recording: Path) -> None:
    training = load_waveform(str(recording))
    serving = waveform_from_bytes(recording.read_bytes(), LIMITS, "file")
    verifier = decode_audio(recording.read_bytes(), SAMPLE_RATE, 600.0).samples
    assert training.dtype == serving.dtype == np.float32
    assert abs(len(training) - 1.7 * SAMPLE_RATE) <= 2 * SAMPLE_RATE / 100  # 16 kHz, length kept
    np.testing.assert_array_equal(training, serving)
    np.testing.assert_array_equal(np.clip(training, -1, 1), verifier)


def test_training_and_serving_build_identical_student_inputs(recording: Path) -> None:
    student = load_student("tiny-random")  # tiny Qwen2-Audio with RANDOM weights: inputs only, no answers
    question = "What is heard?\nA. a tone\nB. speech"
    training = prompt_batch(student, [question], [load_waveform(str(recording))])
    serving = prompt_batch(student, [question], [waveform_from_bytes(recording.read_bytes(), LIMITS, "file")])
    assert torch.equal(training.input_ids, serving.input_ids)
    assert torch.equal(training.input_features, serving.input_features)
    assert torch.equal(training.feature_attention_mask, serving.feature_attention_mask)
