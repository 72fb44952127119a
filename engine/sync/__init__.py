"""The pure sync planner: decides what one sync pass does, without doing any I/O.

``model`` holds the planner's frozen inputs and actions, ``fingerprint`` computes message
identities from header bytes, ``flags`` normalizes flag sets, ``matching`` pairs messages as
multisets, ``planner`` plans one folder and one account, ``moves`` finds cross-folder moves and
folder renames. The executor adapts store rows and IMAP listings into these types and carries
the actions out. docs/sync-planner.md has the decision table.
"""
