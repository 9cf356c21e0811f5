"""Operations: the ``sightsound`` CLI (``cli``, ``commands``), the main job (``mainjob``), the local stack
runner (``stack``), the HTML/Markdown report (``report``), the API client the CLI uses (``api_client``),
and the question-source importers (``question_sources``: MMAU, MUSIC-AVQA, AVQA, the synthetic set).

May import anything; nothing but tests and perf scripts imports it.
"""
