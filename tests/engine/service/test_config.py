"""Get-/Set-MigrationConfig: defaults supplied by the service, validated changes."""

from __future__ import annotations

import pytest

from engine.errors import ImshError, NotFoundError, ValidationError
from engine.service import Engine
from engine.service.batches import BatchRequest
from engine.service.config import ConfigChanges

CSV = b"EmailAddress,UserName,Password\r\n{0}@contoso.com,u,pw\r\n"


def test_defaults(engine: Engine) -> None:
    config = engine.get_config()
    assert (config.max_number_of_batches, config.max_concurrent_migrations, config.features,
            config.default_target_endpoint, config.can_submit_new_batch) == (
        100, None, "None", "LocalMaildir", True)


def test_changes_are_stored_and_validated(engine: Engine) -> None:
    changed = engine.set_config(ConfigChanges(max_number_of_batches=50,
                                              max_concurrent_migrations=100,
                                              features="multibatch"))
    assert (changed.max_number_of_batches, changed.max_concurrent_migrations,
            changed.features) == (50, 100, "MultiBatch")
    assert engine.set_config(ConfigChanges(max_concurrent_migrations=None)) \
        .max_concurrent_migrations is None
    with pytest.raises(ValidationError):
        engine.set_config(ConfigChanges(max_number_of_batches=0))
    with pytest.raises(ValidationError, match="Unable to match the identifier name Nope"):
        engine.set_config(ConfigChanges(features="Nope"))
    with pytest.raises(NotFoundError):
        engine.set_config(ConfigChanges(default_target_endpoint="Nope"))
    assert engine.get_config().max_number_of_batches == 50


def test_max_number_of_batches_is_enforced(engine: Engine, source: str) -> None:
    engine.set_config(ConfigChanges(max_number_of_batches=1))
    engine.new_batch(BatchRequest(name="B1", source_endpoint=source,
                                  csv_data=CSV.replace(b"{0}", b"a")))
    assert not engine.get_config().can_submit_new_batch
    with pytest.raises(ImshError, match=r"maximum number of migration batches \(1\)"):
        engine.new_batch(BatchRequest(name="B2", source_endpoint=source,
                                      csv_data=CSV.replace(b"{0}", b"b")))
