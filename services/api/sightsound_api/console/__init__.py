"""The review console (``/ui``): server-rendered pages (Jinja2, a little vanilla JavaScript) to see, hear and
correct what the teacher and the verifier decided.

Behind the API's own authentication: a login page takes an API key into an HTTP-only, ``SameSite=Strict``
cookie (:mod:`sightsound_api.console.door`); viewing needs the ``read`` scope, overruling a verdict or a decision
``submit`` (``admin`` grants both). With ``SIGHTSOUND_AUTH=off`` (development only) there is no login.
"""
