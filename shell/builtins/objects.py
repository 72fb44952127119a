"""New-Object, ConvertTo-SecureString and Get-Credential: the objects admins build by hand.

``ConvertTo-SecureString -AsPlainText`` follows PowerShell 7, where ``-Force`` is no longer
required; the result is an ``engine.secrets.Secret`` (it prints as ``********``).  Encrypted
standard strings (DPAPI, Windows-only) are not supported.  ``Get-Credential`` asks for the
password without echo on a terminal and refuses, with a hint, when nobody is there.
"""

from __future__ import annotations

import getpass
from collections.abc import Iterable
from typing import Any

from cmdlets.base import (
    BoundArguments,
    Cmdlet,
    CmdletError,
    Context,
    Example,
    Parameter,
    PSCredential,
    PSObject,
)
from cmdlets.base import ParamType as T
from engine.secrets import Secret
from shell.builtins.common import as_list
from shell.objects import Hashtable, to_text

_CREDENTIAL_TYPES = {"system.management.automation.pscredential", "pscredential"}
_RECORD_TYPES = {"psobject", "pscustomobject", "system.management.automation.psobject",
                 "system.management.automation.pscustomobject", "system.object", "object"}
_LIST_TYPES = {"system.collections.arraylist", "collections.arraylist",
               "system.collections.generic.list[string]", "system.collections.generic.list[object]"}
_HASHTABLE_TYPES = {"system.collections.hashtable", "hashtable"}


class NewObject(Cmdlet):
    name = "New-Object"
    synopsis = "Creates an object: a PSCredential, a PSObject, an ArrayList or a Hashtable."
    description = ("Supports the types imsh scripts use: "
                   "System.Management.Automation.PSCredential (user name, SecureString), "
                   "PSObject/PSCustomObject with -Property, System.Collections.ArrayList and "
                   "System.Collections.Hashtable.")
    examples = (Example(
        "$c = New-Object System.Management.Automation.PSCredential('admin', "
        "(ConvertTo-SecureString 'pw' -AsPlainText -Force))",
        "Builds the credential New-MigrationEndpoint -Credentials wants."),)
    parameters = (
        Parameter("TypeName", T.STRING, mandatory=True, position=0, help="The type to create."),
        Parameter("ArgumentList", T.OBJECT_ARRAY, position=1, aliases=("Args",),
                  allow_null=True, allow_empty=True, help="The constructor arguments."),
        Parameter("Property", T.HASHTABLE, help="Properties to set on the new object."),
    )

    def process(self, ctx: Context, args: BoundArguments) -> Iterable[Any]:
        type_name = str(args["TypeName"]).strip().strip("[]")
        key = type_name.casefold()
        arguments = as_list(args.get("ArgumentList"))
        if key in _CREDENTIAL_TYPES:
            return (_credential(arguments),)
        if key in _RECORD_TYPES:
            return (PSObject(dict(args.get("Property") or {})),)
        if key in _LIST_TYPES:
            return (list(arguments),)
        if key in _HASHTABLE_TYPES:
            return (Hashtable(args.get("Property") or {}),)
        raise CmdletError(f"Cannot find type [{type_name}]: verify that the assembly containing "
                          "this type is loaded.", "InvalidType", "TypeNotFound", target=type_name)


def _credential(arguments: list[Any]) -> PSCredential:
    if len(arguments) != 2:
        raise CmdletError('Cannot find an overload for "PSCredential" and the argument count: '
                          f'"{len(arguments)}".', "InvalidOperation",
                          "ConstructorInvokedThrowException")
    user, password = arguments
    if not isinstance(password, Secret):
        # The value is deliberately not echoed: it may be a plaintext password.
        raise CmdletError('Cannot convert argument "password", of type '
                          f'"{_type_word(password)}", to type "System.Security.SecureString". '
                          "Use ConvertTo-SecureString ... -AsPlainText.", "InvalidArgument",
                          "ConstructorInvokedThrowException")
    return PSCredential(to_text(user), password)


def _type_word(value: Any) -> str:
    return {str: "System.String", int: "System.Int32"}.get(type(value), type(value).__name__)


class ConvertToSecureString(Cmdlet):
    name = "ConvertTo-SecureString"
    synopsis = "Turns a plain-text password into a SecureString."
    description = ("With -AsPlainText, wraps the text as a secret that never prints (-Force is "
                   "accepted and, as in PowerShell 7, not required).")
    examples = (Example("$pw = ConvertTo-SecureString 'P@ssw0rd' -AsPlainText -Force",
                        "Makes a SecureString for a PSCredential."),)
    parameters = (
        Parameter("String", T.STRING, mandatory=True, position=0, from_pipeline=True,
                  help="The password text."),
        Parameter("AsPlainText", T.SWITCH, help="The string is plain text."),
        Parameter("Force", T.SWITCH, help="Accepted for compatibility."),
        Parameter("Key", T.OBJECT, help="Not supported by imsh.", unsupported=True),
        Parameter("SecureKey", T.OBJECT, help="Not supported by imsh.", unsupported=True),
    )

    def process(self, ctx: Context, args: BoundArguments) -> Iterable[Any]:
        if not args.switch("AsPlainText"):
            raise CmdletError("imsh reads only plain text here: add -AsPlainText (encrypted "
                              "standard strings are a Windows DPAPI format).", "InvalidArgument",
                              "ImportSecureString")
        return (Secret(to_text(args.get("String"))),)


class GetCredential(Cmdlet):
    name = "Get-Credential"
    synopsis = "Asks for a user name and password and returns a PSCredential."
    description = ("Prompts on the terminal (the password is not echoed). In a script or a "
                   "pipe there is nobody to ask: build the credential with New-Object instead.")
    examples = (Example("$c = Get-Credential admin@contoso.com",
                        "Asks for the password of admin@contoso.com."),)
    parameters = (
        Parameter("Credential", T.OBJECT, position=0, help="A user name or a PSCredential."),
        Parameter("UserName", T.STRING, help="The user name to ask the password for."),
        Parameter("Message", T.STRING, help="Text shown above the prompt."),
        Parameter("Title", T.STRING, help="A title shown above the prompt."),
    )

    def process(self, ctx: Context, args: BoundArguments) -> Iterable[Any]:
        given = args.get("Credential")
        if isinstance(given, PSCredential):
            return (given,)
        user = to_text(given) if given is not None else to_text(args.get("UserName"))
        if not ctx.interactive:
            raise CmdletError(
                "Get-Credential needs a terminal to ask for the password. In scripts use "
                "New-Object System.Management.Automation.PSCredential('user', "
                "(ConvertTo-SecureString 'password' -AsPlainText -Force)).",
                "InvalidOperation", "NoInteractiveHost")
        ctx.write_host(to_text(args.get("Title") or "PowerShell credential request"))
        ctx.write_host(to_text(args.get("Message") or "Enter your credentials."))
        if not user:
            ctx.write_host("User: ", newline=False)
            user = input().strip()
        password = getpass.getpass(f"Password for user {user}: ")
        return (PSCredential(user, Secret(password)),)




OBJECT_CMDLETS: tuple[type[Cmdlet], ...] = (NewObject, ConvertToSecureString, GetCredential)
