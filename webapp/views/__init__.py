"""Blueprints: thin routes that parse, call one domain function and serialise."""
