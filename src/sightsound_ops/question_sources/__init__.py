"""Importers of public benchmarks (MMAU test-mini, MUSIC-AVQA, AVQA) into clips and test questions."""
