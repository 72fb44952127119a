"""Proof: is the target an exact copy of the source? (docs/proof.md)

One definition of "identical" for the whole project: :mod:`engine.verify.compare` compares two
mailboxes read by :mod:`engine.verify.readers` (IMAP through engine/imap/source.py, Maildir++,
and EWS through exchangelib) folder by folder; :mod:`engine.verify.score` turns a proof and the
skipped items into Exchange's DataConsistencyScore. scripts/compare.py is a command line over
the same code.
"""
