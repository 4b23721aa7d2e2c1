"""The pure model: certificates, anchors, findings and diagnoses.

Nothing in this package performs I/O, reads the environment or the clock.
"""
