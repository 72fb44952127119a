"""Secret masking and AES-GCM sealing (engine.secrets)."""

from __future__ import annotations

import copy
import logging
import os
import pickle
import stat
from pathlib import Path

import pytest

from engine.errors import ImshError, StateStoreError
from engine.secrets import MASK, Sealer, Secret, create_key_file

PLAINTEXT = "hunter2-Zebra!"


def test_secret_never_shows_its_plaintext(caplog: pytest.LogCaptureFixture) -> None:
    secret = Secret(PLAINTEXT)
    shown = [
        repr(secret),
        str(secret),
        f"{secret}",
        f"{secret!r}",
        f"{secret:>20}",
        "%s" % secret,  # noqa: UP031 - the %-operator is what is being tested
        "%r" % secret,  # noqa: UP031
        "{}".format(secret),  # noqa: UP032
        repr([secret, {"password": secret}]),
    ]
    with caplog.at_level(logging.INFO):
        logging.getLogger("imsh.test").info("password is %s / %r", secret, secret)
    shown.append(caplog.text)
    for text in shown:
        assert PLAINTEXT not in text
        assert MASK in text
    assert secret.reveal() == PLAINTEXT


def test_pickling_redacts_and_redacted_secret_refuses_to_reveal() -> None:
    data = pickle.dumps(Secret(PLAINTEXT))
    assert PLAINTEXT.encode() not in data
    restored = pickle.loads(data)
    assert str(restored) == MASK
    with pytest.raises(ImshError, match="redacted"):
        restored.reveal()


def test_copy_keeps_the_value() -> None:
    secret = Secret(PLAINTEXT)
    assert copy.copy(secret).reveal() == PLAINTEXT
    assert copy.deepcopy({"p": secret})["p"].reveal() == PLAINTEXT


def test_equality_and_hashing() -> None:
    assert Secret("a") == Secret("a")
    assert Secret("a") != Secret("b")
    assert Secret("a") != "a"
    assert len({Secret("a"), Secret("a"), Secret("b")}) == 2
    assert hash(Secret("a")) != hash("a")


def test_secret_is_immutable() -> None:
    secret = Secret(PLAINTEXT)
    with pytest.raises(AttributeError):
        secret._value = "other"


def test_seal_round_trip_with_random_nonce(tmp_path: Path) -> None:
    sealer = Sealer.load_or_create(tmp_path / "secret.key")
    first = sealer.seal(Secret(PLAINTEXT), "endpoints.password")
    second = sealer.seal(Secret(PLAINTEXT), "endpoints.password")
    assert first.startswith("v1:")
    assert first != second
    assert PLAINTEXT not in first
    assert sealer.unseal(first, "endpoints.password").reveal() == PLAINTEXT


def test_sealed_value_is_bound_to_its_purpose(tmp_path: Path) -> None:
    sealer = Sealer.load_or_create(tmp_path / "secret.key")
    sealed = sealer.seal(Secret(PLAINTEXT), "endpoints.password")
    with pytest.raises(StateStoreError) as raised:
        sealer.unseal(sealed, "migration_users.password")
    assert raised.value.error_id == "SecretUnsealFailed"


def test_tampered_or_foreign_values_do_not_unseal(tmp_path: Path) -> None:
    sealer = Sealer.load_or_create(tmp_path / "a.key")
    other = Sealer.load_or_create(tmp_path / "b.key")
    sealed = sealer.seal(Secret(PLAINTEXT), "p")
    tampered = sealed[:-4] + ("AAAA" if not sealed.endswith("AAAA") else "BBBB")
    for bad in (tampered, "v9:abcd", "v1:!!!"):
        with pytest.raises(StateStoreError):
            sealer.unseal(bad, "p")
    with pytest.raises(StateStoreError):
        other.unseal(sealed, "p")


def test_key_file_created_0600_and_reused(tmp_path: Path) -> None:
    key_file = tmp_path / "dir" / "secret.key"
    old = os.umask(0)
    try:
        sealer = Sealer.load_or_create(key_file)
    finally:
        os.umask(old)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    sealed = sealer.seal(Secret(PLAINTEXT), "p")
    content = key_file.read_bytes()
    create_key_file(key_file)  # a losing racer must not replace the existing key
    assert key_file.read_bytes() == content
    assert Sealer.load(key_file).unseal(sealed, "p").reveal() == PLAINTEXT
    assert [p.name for p in key_file.parent.iterdir()] == ["secret.key"]


def test_missing_and_corrupt_key_files_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(StateStoreError) as missing:
        Sealer.load(tmp_path / "nope.key")
    assert missing.value.error_id == "SecretKeyMissing"
    for content in ("not base64 ***", "c2hvcnQ=\n"):
        (tmp_path / "bad.key").write_text(content)
        with pytest.raises(StateStoreError) as corrupt:
            Sealer.load(tmp_path / "bad.key")
        assert corrupt.value.error_id == "SecretKeyCorrupt"
