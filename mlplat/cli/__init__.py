"""Thin adapters: parse, call one function, print."""
