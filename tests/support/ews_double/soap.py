"""SOAP plumbing of the EWS test double: namespaces, parsing, and building responses.

Responses follow the shapes exchangelib 5.6 accepts (reference/ews-target.md §5.3): an
``s:Envelope`` whose header carries ``t:ServerVersionInfo`` and whose body holds
``m:<Op>Response/m:ResponseMessages`` with one ``m:<Op>ResponseMessage`` per requested item,
in request order. Throttling is a SOAP fault ``a:ErrorServerBusy`` with a
``BackOffMilliseconds`` value, answered with HTTP 500 as Exchange does.
"""

from __future__ import annotations

from lxml import etree

S = "http://schemas.xmlsoap.org/soap/envelope/"
M = "http://schemas.microsoft.com/exchange/services/2006/messages"
T = "http://schemas.microsoft.com/exchange/services/2006/types"
NSMAP = {"s": S, "m": M, "t": T}
SERVER_VERSION = {"MajorVersion": "15", "MinorVersion": "2", "MajorBuildNumber": "1544",
                  "MinorBuildNumber": "4", "Version": "V2017_07_11"}


def m(name: str) -> str:
    return f"{{{M}}}{name}"


def t(name: str) -> str:
    return f"{{{T}}}{name}"


def s(name: str) -> str:
    return f"{{{S}}}{name}"


def local(tag: object) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else str(tag)


def envelope(body_child: etree._Element | None) -> bytes:
    root = etree.Element(s("Envelope"), nsmap=NSMAP)
    header = etree.SubElement(root, s("Header"))
    etree.SubElement(header, t("ServerVersionInfo"), SERVER_VERSION)
    body = etree.SubElement(root, s("Body"))
    if body_child is not None:
        body.append(body_child)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="utf-8"))


def response(operation: str) -> tuple[etree._Element, etree._Element]:
    """(``m:<Op>Response``, its ``m:ResponseMessages``) ready to be filled."""
    outer = etree.Element(m(f"{operation}Response"), nsmap={"m": M, "t": T})
    return outer, etree.SubElement(outer, m("ResponseMessages"))


def success(messages: etree._Element, operation: str) -> etree._Element:
    msg = etree.SubElement(messages, m(f"{operation}ResponseMessage"), ResponseClass="Success")
    etree.SubElement(msg, m("ResponseCode")).text = "NoError"
    return msg


def error(messages: etree._Element, operation: str, code: str, text: str) -> etree._Element:
    msg = etree.SubElement(messages, m(f"{operation}ResponseMessage"), ResponseClass="Error")
    etree.SubElement(msg, m("MessageText")).text = text
    etree.SubElement(msg, m("ResponseCode")).text = code
    etree.SubElement(msg, m("DescriptiveLinkKey")).text = "0"
    return msg


def fault(code: str, text: str, back_off_ms: int | None = None) -> bytes:
    """A SOAP fault (HTTP 500): ``ErrorServerBusy`` with its back-off, or a schema error."""
    root = etree.Element(s("Envelope"), nsmap={"s": S})
    body = etree.SubElement(root, s("Body"))
    flt = etree.SubElement(body, s("Fault"))
    etree.SubElement(flt, "faultcode", nsmap={"a": T}).text = f"a:{code}"
    etree.SubElement(flt, "faultstring").text = text
    detail = etree.SubElement(flt, "detail")
    etree.SubElement(detail, "{http://schemas.microsoft.com/exchange/services/2006/errors}"
                     "ResponseCode").text = code
    etree.SubElement(detail, "{http://schemas.microsoft.com/exchange/services/2006/errors}"
                     "Message").text = text
    if back_off_ms is not None:
        xml = etree.SubElement(detail, t("MessageXml"), nsmap={"t": T})
        etree.SubElement(xml, t("Value"), Name="BackOffMilliseconds").text = str(back_off_ms)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="utf-8"))
