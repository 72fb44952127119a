"""IMAP I/O of the sync engine: sessions (:mod:`.connection`, opened with the plain values of
:mod:`.settings`) and the source (:mod:`.source`).

Stateless: nothing here touches the store. The IMAP target lives in :mod:`engine.targets.imap`.
"""
