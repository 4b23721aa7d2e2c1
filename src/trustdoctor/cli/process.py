"""What the command line does to its own process: the cyclic garbage collector.

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
"""

from __future__ import annotations

import gc

# Generation-0 threshold once a long command runs: a pass every 20,000
# allocations rather than 3.11's 700 (fewer, larger passes; the same work).
LONG_RUNNING_THRESHOLD = 20_000

_owned = False


def starting() -> None:
    """The console entry owns the process: the collector is off until a
    command says it runs long."""
    global _owned
    _owned = True
    gc.disable()


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
