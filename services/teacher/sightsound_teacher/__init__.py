"""SightSound teacher service: prompts, backends, answer parsing and self-consistency voting.

Serves ``POST /v1/reason`` (see :mod:`sightsound_teacher.app`). Imports only the shared ``sightsound``
package, never another service.

Where things are:

- pure logic: :mod:`.prompt` (versioned prompt), :mod:`.parsing` (answers), :mod:`.voting` (the vote),
  :mod:`.adaptive` (when adaptive sampling may stop), :mod:`.grammar` and :mod:`.regex_format` (the
  output format for local structured decoding and for vLLM), :mod:`.backends.openai_wire` (the OpenAI
  chat protocol);
- I/O at the edges: :mod:`.frames` (frames from the media root only), :mod:`.sampling` (draws a
  question's samples from a backend, in rounds when adaptive), :mod:`.app`;
- backends (:mod:`.backends`): ``transformers`` (a local Qwen-VL; :mod:`.tiny` builds the random test
  model), ``openai`` (vLLM or any OpenAI-compatible server), ``embedded`` (offline CPU: the
  :mod:`.tagger` (EfficientNet-Lite0, :mod:`.efficientnet_lite`) feeding SmolLM2-135M,
  :mod:`sightsound.weights.smollm`).
"""
