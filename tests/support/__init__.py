"""Helpers shared by tests and benchmarks: throwaway IMAP servers, an SMTP sink, ports."""
