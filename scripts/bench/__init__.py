"""The Step 4 benchmark: imsh against mbsync and ``doveadm backup`` (Dovecot -> Dovecot).

``python -m scripts.bench.run`` is the entry point (docs/benchmarks.md). Modules:
``treetime`` (run one command and account for its whole process tree), ``measure`` (start it,
sample the tree's memory, collect the figures), ``servers`` (the two throwaway Dovecots and the
corpus), ``tools`` (how each tool is set up and run), ``verify`` (the comparer's verdict),
``report`` (the table).
"""
