"""The pure verification engine: path building, each client's checks and texts, and the
serve-side, interception and AIA-confirmation judgements.  Nothing here does I/O."""
