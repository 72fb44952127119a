"""New-Object, ConvertTo-SecureString, Get-Credential."""

from __future__ import annotations

import pytest

from cmdlets.base import CmdletError, PSCredential, PSObject
from engine.secrets import Secret
from shell.builtins.objects import ConvertToSecureString, GetCredential, NewObject
from shell.objects import Hashtable
from tests.shell.builtins.fakes import FakeContext, run


def test_credential_from_secure_string() -> None:
    ctx = FakeContext()
    [secret] = run(ConvertToSecureString, ctx, None, String="P@ss", AsPlainText=True)
    assert isinstance(secret, Secret) and str(secret) == "********"
    [cred] = run(NewObject, ctx, None, TypeName="System.Management.Automation.PSCredential",
                 ArgumentList=["admin", secret])
    assert isinstance(cred, PSCredential)
    assert cred.user_name == "admin" and cred.password.reveal() == "P@ss"


def test_plain_password_is_refused_without_echoing_it() -> None:
    with pytest.raises(CmdletError) as caught:
        run(NewObject, FakeContext(), None, TypeName="PSCredential",
            ArgumentList=["admin", "hunter2"])
    assert "hunter2" not in str(caught.value)
    with pytest.raises(CmdletError, match="overload"):
        run(NewObject, FakeContext(), None, TypeName="PSCredential", ArgumentList=["admin"])


def test_secure_string_needs_as_plain_text() -> None:
    with pytest.raises(CmdletError, match="-AsPlainText"):
        run(ConvertToSecureString, FakeContext(), None, String="x")


def test_psobject_and_unknown_type() -> None:
    [obj] = run(NewObject, FakeContext(), None, TypeName="PSObject",
                Property=Hashtable({"Name": "b1"}))
    assert isinstance(obj, PSObject) and obj.get("name") == "b1"
    with pytest.raises(CmdletError, match=r"Cannot find type \[Foo.Bar\]"):
        run(NewObject, FakeContext(), None, TypeName="Foo.Bar")


def test_get_credential_refuses_without_a_terminal() -> None:
    with pytest.raises(CmdletError, match="needs a terminal"):
        run(GetCredential, FakeContext(interactive=False), None, Credential="admin")
    cred = PSCredential("u", Secret("p"))
    assert run(GetCredential, FakeContext(), None, Credential=cred) == [cred]
