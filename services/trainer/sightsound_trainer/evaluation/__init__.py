"""Evaluations in the trainer worker: the ``sightsound.evaluate`` task, its runner and its database rows."""
