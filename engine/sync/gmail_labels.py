"""Gmail's labels as folders, without duplicates: which source folder each message is copied
from (pure; the executor lists the folders and filters their listings by the result).

Gmail's IMAP shows one message in many folders: every label is a folder, ``[Gmail]/All Mail``
(``\\All``) holds every message except Spam and Trash, and ``[Gmail]/Starred`` (``\\Flagged``)
and ``[Gmail]/Important`` (``\\Important``) are views. A plain folder-by-folder copy multiplies
the mailbox. The batch's ``-GmailLabelPolicy`` (kept in the batch row's ``extra``) decides:

* ``OneCopy`` (the default): each message is copied once, from the folder of its most specific
  label by :func:`label_rank`: ``INBOX``, then user labels (deeper labels first, then by name),
  then Sent, Drafts, Spam, Trash; ``[Gmail]/All Mail`` last. A message whose only folder is All
  Mail (archived, no label) lands in the target's ``Archive`` folder.
  Later passes keep a message where it was copied while that folder still shows it: a label
  added later copies nothing; a message that left its folder (label removed, archived) is
  placed anew, and the pass moves its copy there (the planner's delete + copy pair).
* ``EveryLabel``: Gmail's own view, a copy in every label folder; All Mail still contributes
  only the messages no other folder shows (into ``Archive``).

Under both, the views (Starred, Important) are never copied as folders: Gmail already reports a
starred message as ``\\Flagged`` in every folder, so the flag travels with each copy. The
identity that says "the same message" is Gmail's ``X-GM-MSGID`` when the server offers
``X-GM-EXT-1``, else imsh's fingerprint (Message-ID, size, date, header hash): the executor
hands in whichever it has.

**Labels from X-GM-LABELS.** When the server offers ``X-GM-EXT-1``, which folders show a
message comes from its labels, read in one ``UID FETCH (X-GM-MSGID X-GM-LABELS)`` on All Mail
(:func:`label_folder` maps each label to the listed folder that shows it; a label no listed
folder shows is ignored): :func:`members_by_label` turns them into each folder's identities.
A label folder is then read for its UIDs only where the placement needs them
(:func:`needs_reading`): where the store recorded copies, where All Mail cannot tell (Trash,
Spam), and where the policy drops a message. Without the extension the folder listings are
the labels, as before.

The result names the UIDs of each folder that are *not* copied from it (:attr:`LabelPlacement.
dropped`): a message that arrives after the folders were read is not in it and is copied where
it appears (a possible duplicate, never a loss), and a message the store already recorded is
kept by the executor whatever this says (never deleted from the target by a policy).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from engine.errors import ValidationError
from engine.folders import FolderPath

ONE_COPY, EVERY_LABEL = "OneCopy", "EveryLabel"
POLICIES = (ONE_COPY, EVERY_LABEL)
POLICY_KEY = "gmail_label_policy"  # in the batch row's extra
ARCHIVE: FolderPath = ("Archive",)  # where All Mail's unlabeled messages land
GMAIL_EXTENSION = "X-GM-EXT-1"
VIEW_FLAGS = frozenset({"\\flagged", "\\important"})  # Starred, Important: never folders
ALL_FLAG = "\\all"
_SYSTEM_RANK = {"\\sent": 2, "\\drafts": 3, "\\junk": 4, "\\trash": 5}
_GMAIL_ROOTS = ("[Gmail]", "[Google Mail]")
# X-GM-LABELS' system labels -> the LIST flag of the folder that shows them
_SYSTEM_LABELS = {"\\sent": "\\sent", "\\draft": "\\drafts", "\\drafts": "\\drafts",
                  "\\starred": "\\flagged", "\\important": "\\important",
                  "\\trash": "\\trash", "\\spam": "\\junk", "\\junk": "\\junk"}
NOT_IN_ALL_MAIL = frozenset({"\\trash", "\\junk"})  # All Mail's labels never name these
UNREAD = 0  # the UID of a member known from labels only (its folder was not read)


@dataclass(frozen=True)
class LabelFolder:
    """One listed source folder: its raw name, path, LIST attributes, its messages as
    (UID, identity) pairs, and the UIDs the store has recorded for it (copied before)."""

    name: str
    path: FolderPath
    flags: tuple[str, ...]
    messages: tuple[tuple[int, str], ...] = ()
    recorded: frozenset[int] = frozenset()


@dataclass(frozen=True)
class LabelPlacement:
    """What the policy makes of a Gmail-shaped mailbox."""

    views: frozenset[str] = frozenset()  # folder names never copied
    all_mail: str | None = None  # copied into ARCHIVE, only what no other folder holds
    dropped: Mapping[str, frozenset[int]] = field(default_factory=dict)

    def keeps(self, folder: str, uid: int) -> bool:
        return uid not in self.dropped.get(folder, frozenset())


def parse_policy(text: str | None) -> str:
    """The declared spelling of a policy (case-insensitive), ``OneCopy`` when none is given."""
    if text is None or not text.strip():
        return ONE_COPY
    for policy in POLICIES:
        if policy.lower() == text.strip().lower():
            return policy
    raise ValidationError(
        f"Cannot validate argument on parameter 'GmailLabelPolicy'. The argument \"{text}\" "
        f"does not belong to the set \"{','.join(POLICIES)}\".",
        error_id="InvalidGmailLabelPolicy")


def _lower(flags: Iterable[str]) -> set[str]:
    return {f.lower() for f in flags}


def is_gmail_shaped(folders: Sequence[LabelFolder], capabilities: Iterable[str]) -> bool:
    """A source laid out like Gmail: an ``\\All`` folder, and either ``X-GM-EXT-1`` or that
    folder under ``[Gmail]/`` (an app-password login shows the same layout)."""
    every = [f for f in folders if ALL_FLAG in _lower(f.flags)]
    if not every:
        return False
    if GMAIL_EXTENSION in {c.upper() for c in capabilities}:
        return True
    return any(f.path[:1] and f.path[0] in _GMAIL_ROOTS for f in every)


def label_rank(folder: LabelFolder) -> tuple[int, int, FolderPath]:
    """Lower is more specific: INBOX 0; user labels 1 (deeper first, then by path); Sent 2,
    Drafts 3, Spam 4, Trash 5; All Mail 9."""
    flags = _lower(folder.flags)
    if ALL_FLAG in flags:
        return (9, 0, folder.path)
    if folder.path == ("INBOX",):
        return (0, 0, folder.path)
    for flag, rank in _SYSTEM_RANK.items():
        if flag in flags:
            return (rank, 0, folder.path)
    return (1, -len(folder.path), folder.path)


def place(folders: Sequence[LabelFolder], policy: str) -> LabelPlacement:
    """Which messages each folder contributes under ``policy`` (see the module docstring)."""
    views = frozenset(f.name for f in folders if _lower(f.flags) & VIEW_FLAGS
                      and ALL_FLAG not in _lower(f.flags))
    homes = [f for f in folders if f.name not in views]
    all_mail = next((f.name for f in homes if ALL_FLAG in _lower(f.flags)), None)
    ranked = sorted(homes, key=label_rank)
    home_of: dict[str, str] = {}  # identity -> the folder it is copied from (OneCopy)
    labelled: set[str] = set()  # identities some folder other than All Mail shows
    for folder in ranked:  # a home that still shows its copy stays its home (labels added)
        for uid, identity in folder.messages:
            if uid in folder.recorded:
                home_of.setdefault(identity, folder.name)
    for folder in ranked:
        for _, identity in folder.messages:
            home_of.setdefault(identity, folder.name)
            if folder.name != all_mail:
                labelled.add(identity)
    dropped: defaultdict[str, set[int]] = defaultdict(set)
    for folder in homes:
        for uid, identity in folder.messages:
            if folder.name == all_mail:
                if identity in labelled:
                    dropped[folder.name].add(uid)
            elif policy == ONE_COPY and home_of[identity] != folder.name:
                dropped[folder.name].add(uid)
    return LabelPlacement(views, all_mail,
                          {name: frozenset(uids) for name, uids in dropped.items()})


def label_folder(label: str, folders: Sequence[LabelFolder]) -> str | None:
    """The listed folder that shows messages carrying the X-GM-LABELS entry ``label``:
    ``\\Inbox`` is INBOX, a system label the folder with its special-use flag, a user label
    the folder of that name; ``None`` when no listed folder shows it."""
    lowered = label.lower()
    if lowered == "\\inbox":
        return next((f.name for f in folders if f.path == ("INBOX",)), None)
    if lowered.startswith("\\"):
        flag = _SYSTEM_LABELS.get(lowered)
        return next((f.name for f in folders if flag and flag in _lower(f.flags)), None)
    return next((f.name for f in folders if f.name == label), None)


def members_by_label(labels: Mapping[str, Sequence[str]], folders: Sequence[LabelFolder]
                     ) -> dict[str, set[str]]:
    """Each folder's identities, from ``identity -> labels`` (All Mail's X-GM-LABELS)."""
    members: defaultdict[str, set[str]] = defaultdict(set)
    for identity, names in labels.items():
        for label in names:
            name = label_folder(label, folders)
            if name is not None:
                members[name].add(identity)
    return dict(members)


def from_labels(folder: LabelFolder, members: Iterable[str]) -> LabelFolder:
    """A folder not read, its messages known from labels only (UID :data:`UNREAD`)."""
    return LabelFolder(folder.name, folder.path, folder.flags,
                       tuple((UNREAD, identity) for identity in sorted(members)))


def needs_reading(folder: LabelFolder, recorded: bool) -> bool:
    """Whether a label folder must be read for its UIDs before placing: it holds recorded
    copies (whose identities the store does not know), or All Mail cannot tell what it
    shows (Trash, Spam)."""
    return recorded or bool(_lower(folder.flags) & NOT_IN_ALL_MAIL)


def unread_with_drops(placement: LabelPlacement, folders: Sequence[LabelFolder]) -> list[str]:
    """Folders known from labels only from which the policy drops a message: they must be
    read (their UIDs are needed to leave those messages out) and placed again."""
    return [f.name for f in folders
            if f.messages and f.messages[0][0] == UNREAD and not placement.keeps(f.name, UNREAD)]
