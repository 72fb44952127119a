"""A local EWS test double for the Exchange target (see :mod:`.server`).

The EWS target is tested against this double only, never against a real Exchange server:
it answers the SOAP operations exchangelib sends for imsh's flow and refuses request shapes
the EWS schema does not allow.
"""

from tests.support.ews_double.server import EWS_PATH, EwsDouble, EwsDoubleServer, LoggedRequest
from tests.support.ews_double.store import Mailbox, StoredItem

__all__ = ["EWS_PATH", "EwsDouble", "EwsDoubleServer", "LoggedRequest", "Mailbox", "StoredItem"]
