"""The comparer's Gmail mode: a Gmail-shaped source seen as the target should hold it.

A Gmail-shaped mailbox (engine/sync/gmail_labels.py: label folders, ``[Gmail]/All Mail``, the
views Starred and Important) is never copied folder by folder, so comparing it with its target
folder by folder would report every label copy the policy left out as missing. :class:`GmailView`
is the source as the batch's ``-GmailLabelPolicy`` says the target holds it, computed by the
same :func:`engine.sync.gmail_labels.place` the sync uses, and then compared by the one
comparer (engine/verify/compare.py) like any mailbox:

* **OneCopy**: each message once, in the folder of its most specific label; a message with no
  label (All Mail only) in All Mail's folder (the caller maps it to the target's ``Archive``);
  a starred message carries ``\\Flagged`` there (Gmail reports it on every copy);
* **EveryLabel**: a copy in each label folder; All Mail only what no label folder shows;
* under both, the views are no folders at all.

"The same message" here is the content digest (Gmail shows the same bytes in every label
folder). ``recorded`` (source folder name -> UIDs the store recorded as copied from it, for
Test-MigrationUser) keeps what the sync keeps: a message copied from a folder stays expected
there (engine/sync/gmail_source.py's ``by_labels``), and a recorded home stays the home.

Cost: the first folder asked for reads every non-view folder of the source once (their
records, about 300 bytes a message, are kept until the comparison ends; never a body), because
where a message belongs depends on every folder that shows it. Nothing is read twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence

from engine.folders import FolderPath
from engine.sync.gmail_labels import (
    ALL_FLAG,
    VIEW_FLAGS,
    LabelFolder,
    LabelPlacement,
    is_gmail_shaped,
    place,
)
from engine.verify.model import FolderInfo, MailboxSource, MessageRecord
from engine.verify.readers import ImapReader


class GmailView:
    """``inner`` (a Gmail-shaped source) as the policy says the target holds it."""

    def __init__(self, inner: MailboxSource, shape: Sequence[LabelFolder], policy: str,
                 recorded: Mapping[str, frozenset[int]] | None = None) -> None:
        self._inner = inner
        self._flags = {f.name: tuple(f.flags) for f in shape}
        self._policy = policy
        self._recorded = dict(recorded or {})
        self._records: dict[str, list[MessageRecord]] | None = None
        self._placement: LabelPlacement | None = None
        self.description = inner.description

    def _lowered(self, native: str) -> set[str]:
        return {f.lower() for f in self._flags.get(native, ())}

    @property
    def all_mail(self) -> FolderPath | None:
        """All Mail's path on the source side (its messages go to the target's Archive)."""
        return next((f.path for f in self._inner.folders()
                     if ALL_FLAG in self._lowered(f.native)), None)

    def folders(self) -> list[FolderInfo]:
        return [f for f in self._inner.folders()
                if not (VIEW_FLAGS & self._lowered(f.native)
                        and ALL_FLAG not in self._lowered(f.native))]

    def messages(self, folder: FolderInfo) -> Iterator[MessageRecord]:
        records, placement = self._placed()
        kept = self._recorded.get(folder.native, frozenset())
        for index, record in enumerate(records.get(folder.native, ())):
            uid = record.uid if record.uid is not None else -1 - index
            if uid in kept or placement.keeps(folder.native, uid):
                yield record

    def _placed(self) -> tuple[dict[str, list[MessageRecord]], LabelPlacement]:
        if self._records is None or self._placement is None:
            records: dict[str, list[MessageRecord]] = {}
            listed: list[LabelFolder] = []
            for folder in self.folders():
                records[folder.native] = list(self._inner.messages(folder))
                listed.append(LabelFolder(
                    folder.native, folder.path, self._flags.get(folder.native, ()),
                    tuple(_identities(records[folder.native])),
                    self._recorded.get(folder.native, frozenset())))
            self._records, self._placement = records, place(listed, self._policy)
        return self._records, self._placement

    def close(self) -> None:
        self._inner.close()


def _identities(records: Iterable[MessageRecord]) -> Iterator[tuple[int, str]]:
    for index, record in enumerate(records):
        yield (record.uid if record.uid is not None else -1 - index), record.digest


def gmail_view(reader: ImapReader, inner: MailboxSource, policy: str,
               recorded: Mapping[str, frozenset[int]] | None = None) -> GmailView | None:
    """The Gmail view of ``inner`` (``reader``'s mailbox, maybe without excluded folders),
    or ``None`` when the source is not Gmail-shaped (compared as it is)."""
    shape = [LabelFolder(f.name, f.path, f.flags) for f in reader.listed_folders()]
    if not is_gmail_shaped(shape, reader.session.capabilities):
        return None
    return GmailView(inner, shape, policy, recorded)
