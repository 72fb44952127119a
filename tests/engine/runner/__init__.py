"""Tests of the runner: scheduling decisions, the runner loop on a real store."""
