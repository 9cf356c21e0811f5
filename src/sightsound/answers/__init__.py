"""Reading an answer out of a model's text: one home for every reader, with one set of rules.

- :mod:`.reading`: the student's answer. ``answer_letter`` / ``strict_answer``: only a well-formed
  ``<answer>X</answer>`` outside ``<think>``, X an upper-case letter (what GRPO's rewards pay for and what
  strict accuracy counts); ``parse_answer``: the lenient reading reported beside it (a lower-case letter
  in the tag, a lone or stated letter, one choice's whole text), never inside ``<think>``, never a hedge.
- :mod:`.tagged`: the teacher's answer inside ``<answer>`` tags (case-tolerant letter, 1-based digit, a
  choice's text), with several agreeing tags allowed and disagreeing ones an error: a vote must not pick
  one silently.

Letters outside tags are matched case-sensitively everywhere ("the answer is a dog" is not A).
"""

from sightsound.answers.reading import ParsedAnswer, answer_letter, parse_answer, strict_answer

__all__ = ["ParsedAnswer", "answer_letter", "parse_answer", "strict_answer"]
