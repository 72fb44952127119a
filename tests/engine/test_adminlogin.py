"""The administrator login formats of the CSV's UserName column (engine.adminlogin)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.adminlogin import LoginPlan, plain_initial_response, plan_login, proxy_login
from engine.errors import ValidationError
from engine.secrets import Secret


@pytest.mark.parametrize(
    ("user_name", "description"),
    [
        ("terry.adams", "user credentials of terry.adams"),
        ("contoso\\terry.adams", "user credentials of contoso\\terry.adams"),
        ("contoso/usera", "user credentials of contoso/usera"),
        ("terry.adams*mailadmin", "Dovecot master user login: mailadmin acting as terry.adams"),
        ("contoso-students/mailadmin/terry.adams",
         "Exchange administrator login: contoso-students/mailadmin acting as terry.adams"),
        ("#terry.adams@contoso-students.edu#mailadmin#",
         "Mirapoint administrator login: mailadmin acting as terry.adams@contoso-students.edu"),
    ],
)
def test_documented_forms_are_sent_verbatim_with_login(user_name: str, description: str) -> None:
    plan = plan_login(user_name, "P@ssw0rd")
    assert plan == LoginPlan("login", user_name, None, Secret("P@ssw0rd"), None, description)


def test_courier_user_root() -> None:
    plan = plan_login("mailadmin", "P@ssw0rd", " /users/terry.adams ")
    assert (plan.method, plan.authcid, plan.authzid, plan.user_root) == (
        "login", "mailadmin", None, "/users/terry.adams"
    )
    assert plan.description == (
        "user credentials of mailadmin, mailbox at UserRoot /users/terry.adams"
    )


def test_blank_user_root_is_none() -> None:
    assert plan_login("u", "pw", "  ").user_root is None


@pytest.mark.parametrize(
    "user_name",
    ["authzid=terry.adams;authcid=mailadmin", "AuthCid = mailadmin ; AUTHZID=terry.adams"],
)
def test_imsh_proxy_form_uses_sasl_plain(user_name: str) -> None:
    plan = plan_login(user_name, "P@ssw0rd")
    assert (plan.method, plan.authcid, plan.authzid, plan.user_root) == (
        "authenticate-plain", "mailadmin", "terry.adams", None
    )
    assert plan.description == "SASL PLAIN proxy login: mailadmin acting as terry.adams"
    assert plain_initial_response(plan) == b"terry.adams\0mailadmin\0P@ssw0rd"


@pytest.mark.parametrize(
    "user_name",
    [
        "authzid=terry.adams",
        "authcid=mailadmin",
        "authzid=;authcid=mailadmin",
        "authzid=a;authzid=b",
        "authzid=a;authcid=b;realm=c",
    ],
)
def test_malformed_proxy_form(user_name: str) -> None:
    with pytest.raises(ValidationError) as caught:
        plan_login(user_name, "pw")
    assert caught.value.message == (
        f'The UserName "{user_name}" isn\'t a valid proxy login. Write it as '
        '"authzid=USER;authcid=ADMIN": USER is the mailbox to migrate, ADMIN the administrator '
        "whose password is in the Password column."
    )


def test_proxy_login_for_an_imap_target() -> None:
    plan = proxy_login("user1", "admin", "adminpw")
    assert plain_initial_response(plan) == b"user1\0admin\0adminpw"


def test_plain_without_authzid() -> None:
    plan = plan_login("user1*admin", "pw")
    assert plain_initial_response(plan) == b"\0user1*admin\0pw"


@pytest.mark.parametrize(
    ("user_name", "password", "message"),
    [
        ("", "pw", "The UserName can't be empty."),
        ("u", "", "The Password can't be empty."),
        ("u\r\nx", "pw",
         "The UserName contains a line break or NUL character, which IMAP can't send."),
        ("u", "p\0w",
         "The Password contains a line break or NUL character, which IMAP can't send."),
    ],
)
def test_unsendable_credentials(user_name: str, password: str, message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        plan_login(user_name, password)
    assert caught.value.message == message


_sendable = st.text(min_size=1).filter(lambda s: not any(c in s for c in "\0\r\n«»"))


@given(_sendable, _sendable.map(lambda s: f"«{s}»"))
def test_the_password_never_shows(user_name: str, password: str) -> None:
    try:
        plan = plan_login(user_name, password)
    except ValidationError as refusal:  # only imsh's proxy form can be malformed
        assert user_name.strip().lower().startswith(("authzid", "authcid"))
        assert password not in refusal.message
        return
    assert plan.password.reveal() == password
    assert password not in plan.description
    assert password not in repr(plan)
    assert plan.method == "login" or plan.authzid is not None
