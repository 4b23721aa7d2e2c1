"""What the command line does to its own process: the cyclic garbage
collector, and one deferred standard-library import.

The library never touches it (a host program's collector is its own); only
the console entry (:func:`trustdoctor.cli.main.entry`) calls :func:`starting`.

Start-up creates ~25,000 objects that live until exit (modules, classes,
tables) and next to no cyclic garbage: with the collector on, it traversed
them while they were being made (one generation-0 pass over 20,000 objects
took ~10 ms of a ~250 ms ``diagnose``; with 3.11's default threshold of 700,
~50 smaller passes took as long) and once more at exit.  A command that ends
after one answer (``diagnose``, ``chain``, ``stores``, ``bundle``, ``fix``,
``lab``) leaves only a few hundred objects of cyclic garbage behind, however
large its input (measured: ``stores`` of this host's every client,
``chain`` of Debian's 144-root bundle, ``explain --file`` of a 26 MB log),
so it runs with the collector off.  A command that handles an unbounded
stream of work (``scan``'s targets, ``explain``'s log or stdin, ``serve``'s
and the exporter's requests) calls :func:`long_running` first: what exists
then is frozen (never traversed again) and the collector runs from there on.

``dataclasses`` imports ``inspect`` (and with it ``ast``, ``dis``,
``tokenize``, ``linecache``: 12-15 ms of a ~250 ms ``diagnose``, -X
importtime and ``perf_counter``) for one use: writing a docstring for a class
that has none (``inspect.signature``).  trustdoctor's own classes no longer
import dataclasses (model/record.py), but rich does (a terminal's output),
and every dataclass it defines has a docstring.  So the entry puts a stand-in for
``inspect`` in ``sys.modules``: ``import inspect`` gets it, and the first use
of any of its names imports the real module (which then replaces it) and
answers from there.  ``importlib.util.LazyLoader`` would be the standard way,
but on 3.11 the import statement itself reads the module's ``__spec__``, and
any attribute read makes a lazy module load.
"""

from __future__ import annotations

import gc
import importlib
import importlib.util
import sys
import types

TYPE_CHECKING = False  # typing's constant, without importing typing (model/record.py)
if TYPE_CHECKING:
    from typing import Any

# Generation-0 threshold once a long command runs: a pass every 20,000
# allocations rather than 3.11's 700 (fewer, larger passes; the same work).
LONG_RUNNING_THRESHOLD = 20_000

_owned = False


def starting() -> None:
    """The console entry owns the process: the collector is off until a
    command says it runs long, ``inspect`` is imported on first use, and
    argparse speaks English without asking gettext."""
    global _owned
    _owned = True
    gc.disable()
    defer_import("inspect")
    _argparse_in_english()


def _argparse_in_english() -> None:
    """argparse passes every string it registers or prints ("usage: ", "show
    this help message and exit"...) through ``gettext.gettext``, which at
    every call searches the locale directories for a catalogue of the
    ``messages`` domain (a ``stat`` per language $LANGUAGE, $LC_ALL,
    $LC_MESSAGES or $LANG names) after importing ``locale``: 2-4 ms of every
    command's start-up (argparse's parser built and read, with and without).
    CPython ships no such catalogue and this command's own words are
    English, so its argparse answers as gettext's ``NullTranslations`` does:
    each string as it is."""
    import argparse

    setattr(argparse, "_", lambda message: message)  # noqa: B010  (a private name)
    setattr(argparse, "ngettext", lambda one, many, n: one if n == 1 else many)  # noqa: B010


class _Deferred(types.ModuleType):
    """Stands for a module not imported yet; the first name read from it
    imports the real one (see the module's docstring)."""

    def __getattr__(self, name: str) -> Any:
        # Only for names the stand-in does not have: after the load it has
        # them all (its namespace is the real module's).
        return getattr(_load(self), name)


def _load(stand_in: _Deferred) -> types.ModuleType:
    # Two threads may get here at once: the import system's per-module lock
    # makes the second wait for the first's import and get the same module.
    name = stand_in.__name__
    if sys.modules.get(name) is stand_in:
        del sys.modules[name]
    real = importlib.import_module(name)
    stand_in.__dict__.update(real.__dict__)
    return real


def defer_import(name: str) -> None:
    """Let ``import NAME`` return a stand-in that imports the module on first
    use.  Nothing happens if it is imported already or cannot be found."""
    if name in sys.modules:
        return
    spec = importlib.util.find_spec(name)
    if spec is None:
        return
    stand_in = _Deferred(name)
    # The import statement reads __spec__ (is the module initialising?):
    # the real spec, which says no, without loading anything.
    stand_in.__spec__ = spec
    sys.modules[name] = stand_in


def long_running() -> None:
    """Turn the collector on for the rest of the process, once.  Does
    nothing unless :func:`starting` ran (``main()`` called by a program or a
    test leaves that program's collector alone)."""
    global _owned
    if not _owned:
        return
    _owned = False
    gc.freeze()
    gc.set_threshold(LONG_RUNNING_THRESHOLD)
    gc.enable()
