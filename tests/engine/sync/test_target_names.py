"""distinct_targets: no two source folders share a target folder; stored paths never move."""

from __future__ import annotations

from engine.folders import SourceFolderName, TargetNaming, map_folders
from engine.sync.target_names import Placement, distinct_targets

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
