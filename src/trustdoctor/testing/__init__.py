"""Helpers shared by the tests and the built-in lab (throwaway PKIs)."""
