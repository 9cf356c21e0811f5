"""A learnable task for the tiny student, made from generated clips: "Is anyone speaking?".

Speech clips (espeak-ng) have gold answer A; silence or faint-noise clips gold answer B. The
"teacher" traces are right only 3 times in 4, each trace on its own (a vision model cannot hear: it
guesses from what it sees), so SFT teaches the answer format and hardly any listening: after SFT the
student still answers about half the questions right. GRPO, rewarded against the gold answers, teaches
it to listen. Both curves are measurable: the SFT loss falls, the GRPO accuracy reward rises.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile
from sqlalchemy.orm import Session

from sightsound.contracts.training import DatasetRecord
from sightsound.db.models import Clip, Job, JobState, Question, Split, Trace, TraceDecision
from sightsound.snapshot.targets import student_prompt, student_target
from sightsound_devdata.clipgen import AudioSpec, Noise, Silence, Speech, Tone, fit_length

QUESTION = "Is anyone speaking in this clip?"
CHOICES = ["Yes, a person is speaking", "No, only a tone or silence", "A dog is barking", "Music is playing"]
THINK = "I listen."
SAMPLE_RATE = 16_000
SECONDS = 1.5
SPEECH = ["hello there", "good morning", "the cat sat down", "open the door", "one two three",
          "see you soon", "it is raining", "thank you very much"]


#: Measured on this 2-core machine, seeds 0-9 (ten runs, all passing :func:`assert_learned`): the SFT loss
#: falls from ~10.8 to ~0.045 (the answer letter stays nearly a coin flip) and the GRPO accuracy reward
#: rises from 0.45-0.65 (mean of the first 8 steps) to 0.90-0.97 (last 8). SFT ~20 s, GRPO ~80 s (1 thread).
#: With tones among the non-speech clips, 4 runs in 7 learned within these 36 steps.
HYPERPARAMETERS: dict[str, object] = {
    "seed": 0,
    "lora": {"rank": 8, "alpha": 16, "extra_trainable_modules": ["lm_head"]},
    "sft": {"max_steps": 80, "batch_size": 8, "learning_rate": 5e-3, "warmup_ratio": 0.1, "save_every_steps": 80},
    "grpo": {"steps": 36, "prompts_per_step": 8, "num_generations": 4, "max_new_tokens": 20, "learning_rate": 3e-3,
             "beta": 0.04, "save_every_steps": 12},
}
WINDOW = 8


def mean(values: list[float]) -> float:
    return sum(values) / len(values)


def assert_learned(sft_loss: list[float], accuracy: list[float]) -> None:
    """SFT lowered the loss; GRPO raised the accuracy reward, above chance (the model listens)."""
    assert len(sft_loss) >= 2 * WINDOW and len(accuracy) >= 2 * WINDOW
    assert mean(sft_loss[-WINDOW:]) < 0.1 * mean(sft_loss[:WINDOW]), sft_loss
    first, last = mean(accuracy[:WINDOW]), mean(accuracy[-WINDOW:])
    assert last >= first + 0.2 and last >= 0.7, accuracy


@dataclass(frozen=True)
class TaskClip:
    path: Path
    speech: bool

    @property
    def gold(self) -> int:
        return 0 if self.speech else 1


def make_clips(folder: Path, per_class: int = 8, with_tones: bool = False) -> list[TaskClip]:
    """``per_class`` speech clips and as many without speech: silence and faint noise (``with_tones``: half
    of them steady tones instead, which the tiny random encoder tells from speech far less reliably)."""
    folder.mkdir(parents=True, exist_ok=True)
    clips = []
    n = round(SECONDS * SAMPLE_RATE)
    for i in range(per_class):
        speech = Silence(0.1) + Speech(SPEECH[i % len(SPEECH)], voice="en-us" if i % 2 else "en",
                                       words_per_minute=190)
        other: AudioSpec
        if with_tones and i % 2 == 0:
            other = Tone(300.0 + 110.0 * i, SECONDS, 0.4)
        elif with_tones:
            other = Silence(SECONDS) if i % 4 == 1 else Noise(SECONDS, 0.01, seed=i)
        else:
            other = Silence(SECONDS) if i % 2 else Noise(SECONDS, 0.01, seed=i)
        tag = "other" if with_tones else "quiet"
        for kind, spec in (("speech", speech), (tag, other)):
            path = folder / f"{kind}-{i}.wav"
            if not path.exists():
                soundfile.write(path, fit_length(spec.render(SAMPLE_RATE), n), SAMPLE_RATE)
            clips.append(TaskClip(path, kind == "speech"))
    return clips


def teacher_guess(gold: int, clip_index: int, trace: int, accuracy: float, seed: int = 0) -> int:
    """The gold answer with probability ``accuracy``, else the other of A and B."""
    right = random.Random(seed * 7919 + clip_index * 31 + trace).random() < accuracy
    return gold if right else 1 - gold


def records(clips: list[TaskClip], traces_per_question: int = 2, variant: str = "cot",
            teacher_accuracy: float = 0.75) -> list[DatasetRecord]:
    out = []
    for c, clip in enumerate(clips):
        qid = uuid.UUID(int=c + 1)
        for t in range(traces_per_question):
            guess = teacher_guess(clip.gold, c, t, teacher_accuracy)
            out.append(DatasetRecord(
                id=f"{c}-{t}", question_id=qid, clip_id=qid, trace_id=c * 10 + t,
                audio_url=clip.path.resolve().as_uri(), audio_path=str(clip.path.resolve()),
                question=QUESTION, choices=CHOICES,
                prompt=student_prompt(QUESTION, CHOICES, variant),
                target=student_target(guess, THINK if variant == "cot" else None),
                answer_index=clip.gold, answer_source="gold", teacher_answer_index=guess, category="speech",
            ))
    return out


def balance(clips: list[TaskClip]) -> float:
    return float(np.mean([c.speech for c in clips]))


# --- the same task as accepted traces in PostgreSQL ---------------------------------------------------

POLICY = "contradiction>=0.60"
TEACHER = "tiny-teacher-that-cannot-hear"


def trace_text(answer: int) -> str:
    claims = "<claims>\nsource=scene; event=sound; present=yes\n</claims>"
    return f"<think>{THINK}</think>\n{claims}\n<answer>{'AB'[answer]}</answer>"


def insert_task(session: Session, clips: list[TaskClip], category: str, traces_per_question: int = 2,
                teacher_accuracy: float = 0.75, policy: str = POLICY) -> list[int]:
    """Clips, questions, jobs, traces and accept decisions of the task (as the pipeline would store them);
    returns the sample ids. ``category`` keeps one test's rows apart from another's."""
    trace_ids = []
    for c, clip in enumerate(clips):
        clip_row = Clip(id=uuid.uuid4(), content_hash=hashlib.sha256(f"{category}:{clip.path}".encode()).hexdigest(),
                        media_url=clip.path.resolve().as_uri(), filename=clip.path.name, size_bytes=1,
                        duration_s=SECONDS, fps=15.0, width=160, height=120, has_audio=True, frame_urls=[],
                        audio_url=clip.path.resolve().as_uri())
        fingerprint = hashlib.sha256(f"{category}:{c}".encode()).hexdigest()
        question = Question(id=uuid.uuid4(), clip=clip_row, fingerprint=fingerprint,
                            text=QUESTION, choices=CHOICES, answer_index=clip.gold, category=category,
                            split=Split.train, source="learnable-task")
        guesses = [teacher_guess(clip.gold, c, t, teacher_accuracy) for t in range(traces_per_question)]
        job = Job(id=uuid.uuid4(), question=question, state=JobState.accepted,
                  consensus_answer_index=max(set(guesses), key=guesses.count),
                  agreement=max(guesses.count(g) for g in guesses) / len(guesses), traces_used=len(guesses))
        session.add_all([clip_row, question, job])
        session.flush()
        for t, guess in enumerate(guesses):
            sample = Trace(job_id=job.id, trace_index=t, text=trace_text(guess), answer_index=guess,
                                   model=TEACHER, backend="test", prompt_version="audio-cot-v1", sampling={},
                                   latency_ms=1.0, prompt_tokens=1, completion_tokens=1)
            session.add(sample)
            session.flush()
            session.add(TraceDecision(trace_id=sample.id, decision="accepted", policy=policy, reasons=["test"]))
            trace_ids.append(sample.id)
    session.flush()
    return trace_ids
