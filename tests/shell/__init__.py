"""Tests of the shell: language, session, formatting."""
