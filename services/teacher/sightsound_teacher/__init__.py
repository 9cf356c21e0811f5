"""SightSound teacher service: prompts, backends, answer parsing and self-consistency voting.

Serves ``POST /v1/reason`` (see :mod:`sightsound_teacher.app`). Imports only the shared ``sightsound``
package, never another service.
"""
