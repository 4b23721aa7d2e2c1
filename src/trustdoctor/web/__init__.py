"""``trustdoctor serve``: the incident assistant as a web page and a JSON API.

A front end like the CLI: it parses the form (or the JSON body), calls the
API (:func:`trustdoctor.api.diagnose_chain` on inputs loaded in memory,
:func:`trustdoctor.api.explain`, and :func:`trustdoctor.api.diagnose_endpoint`
only for targets ``--allow-target`` allows) and renders templates from the
results.  It needs the optional ``web`` extra (Starlette, Jinja2, uvicorn,
python-multipart); nothing here is imported by the command line unless
``serve`` runs.  See docs/serve.md.
"""
