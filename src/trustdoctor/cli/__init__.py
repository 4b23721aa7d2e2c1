"""Command-line front end.  Thin: parse, call the API, render, map exit codes."""
