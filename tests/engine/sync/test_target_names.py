"""distinct_targets: no two source folders share a target folder; stored paths never move."""

from __future__ import annotations

from dataclasses import replace

from engine.folders import SourceFolderName, TargetNaming, map_folders
from engine.sync.target_names import Placement, distinct_targets, redirect_unlabeled

IMAP = TargetNaming(separator="/")
EXCHANGE = TargetNaming(separator="/", special={"Sent": ("Sent Items",)})


def place(naming: TargetNaming, folders: dict[tuple[str, ...], str | None],
          stored: dict[tuple[str, ...], tuple[str, ...]] | None = None
          ) -> dict[str, tuple[str, ...]]:
    mapping = map_folders([SourceFolderName(p, r) for p, r in folders.items()], naming)
    return distinct_targets([Placement("/".join(p), p, mapping[p], (stored or {}).get(p))
                             for p in folders], naming)


def test_a_special_use_folder_and_a_literal_one_of_the_target_name() -> None:
    placed = place(EXCHANGE, {("Sent Messages",): "Sent", ("Sent Items",): None,
                              ("Sent Items", "2019"): None})
    assert placed == {"Sent Messages": ("Sent Items",), "Sent Items": ("Sent Items (2)",),
                      "Sent Items/2019": ("Sent Items (2)", "2019")}


def test_names_differing_only_in_case_collide_and_unique_names_stay() -> None:
    placed = place(IMAP, {("Work",): None, ("work",): None, ("Other",): None})
    assert placed == {"Work": ("Work",), "work": ("work (2)",), "Other": ("Other",)}


def test_stored_paths_are_kept_and_claimed_first() -> None:
    placed = place(IMAP, {("Sent Messages",): "Sent", ("Sent",): None},
                   stored={("Sent",): ("Sent",)})
    assert placed == {"Sent": ("Sent",), "Sent Messages": ("Sent (2)",)}
    again = place(IMAP, {("Sent Messages",): "Sent", ("Sent",): None},
                  stored={("Sent",): ("Sent",), ("Sent Messages",): ("Sent (2)",)})
    assert again == placed


def _gmail(labels: list[tuple[str, ...]]) -> list[Placement]:
    """A Gmail listing: labels mapped to themselves, All Mail and a view under [Gmail]."""
    folders = [*labels, ("[Gmail]", "All Mail"), ("[Gmail]", "Important")]
    mapping = map_folders([SourceFolderName(p, None) for p in folders], EXCHANGE)
    return [Placement("/".join(p), p, mapping[p]) for p in folders]


def test_gmail_unlabeled_mail_and_a_label_named_archive_in_any_case_never_share_a_folder(
        ) -> None:
    for label in ("Archive", "archive", "ARCHIVE"):
        folders = redirect_unlabeled(_gmail([(label,), ("Work",)]), {"[Gmail]/Important"},
                                     "[Gmail]/All Mail", ("Archive",))
        placed = distinct_targets(folders, EXCHANGE)
        assert placed == {label: ("Archive",), "[Gmail]/All Mail": ("Archive (2)",),
                          "Work": ("Work",)}
        assert len({"/".join(p).casefold() for p in placed.values()}) == 3


def test_gmail_unlabeled_mail_lands_in_archive_and_views_are_never_placed() -> None:
    folders = redirect_unlabeled(_gmail([("Work",)]), {"[Gmail]/Important"},
                                 "[Gmail]/All Mail", ("Archive",))
    assert distinct_targets(folders, IMAP) == {"[Gmail]/All Mail": ("Archive",),
                                               "Work": ("Work",)}


def test_gmail_unlabeled_mail_keeps_the_folder_an_earlier_pass_stored() -> None:
    folders = [replace(f, stored=("[Gmail]", "All Mail")) if f.name == "[Gmail]/All Mail"
               else f for f in _gmail([("Archive",)])]
    placed = distinct_targets(redirect_unlabeled(folders, {"[Gmail]/Important"},
                                                 "[Gmail]/All Mail", ("Archive",)), IMAP)
    assert placed == {"[Gmail]/All Mail": ("[Gmail]", "All Mail"), "Archive": ("Archive",)}
