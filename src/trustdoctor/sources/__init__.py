"""Chain sources: files, network endpoints, logs, images. All I/O lives here."""
