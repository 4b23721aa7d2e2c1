"""From TLS error messages to causes: the message catalogue and the matcher (pure)."""
