"""Development data: generated clips (``clipgen``, ``sounds``, ``photos``), the synthetic question set
the main job uses (``synthetic_set``, ``synthetic_recipes``), the demo clip and labelled claim sets for
the verifier's measurements (``labelled_claims``). Used by ops, tests and perf scripts; product code never
imports it.
"""
