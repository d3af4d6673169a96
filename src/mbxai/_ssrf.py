"""URL safety for fetching input images (server-side request forgery): which URLs and
addresses may be fetched, and requests pinned to the address that was checked.

An input URL is fetched like this, hop by hop (redirects included):

1. its host is resolved once (or is an IP literal, in any spelling the C library takes,
   such as ``2130706433`` or ``0x7f.1``);
2. every address is checked (:func:`refuse_private_addresses`): loopback, private,
   link-local, reserved, multicast and unspecified addresses are refused, and so is every
   IPv6 form that embeds such an IPv4 address (IPv4-mapped, IPv4-compatible, NAT64, 6to4,
   Teredo);
3. the request is sent to a checked address itself (:func:`pinned_request`), with the
   original ``Host`` header and, for https, the original name for SNI and certificate
   verification, so a DNS server that answers differently the second time (DNS
   rebinding) is never asked a second time.

The async image client and its sync twin do the I/O; everything here is flavour-free.
"""

from __future__ import annotations

import base64
import functools
import ipaddress
import re
import socket
import ssl
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final, TypeAlias

import httpx

from ._client_base import USER_AGENT
from ._errors import ConfigurationError

__all__ = [
    "FETCH_HEADERS",
    "MAX_REDIRECTS",
    "IPAddress",
    "check_fetch_target",
    "fetch_ssl_context",
    "literal_address",
    "pinned_request",
    "redirect_target",
    "refusal",
    "refuse_private_addresses",
]

IPAddress: TypeAlias = ipaddress.IPv4Address | ipaddress.IPv6Address

#: Redirects followed when fetching an input URL; every hop is resolved, checked and pinned.
MAX_REDIRECTS: Final = 5
_REDIRECTS: Final = frozenset({301, 302, 303, 307, 308})

FETCH_HEADERS: Final[Mapping[str, str]] = {
    "Accept": "image/png,image/jpeg,image/webp,image/gif;q=0.9,*/*;q=0.1",
    # Compressed bodies would be inflated before the size cap could stop them; images are
    # compressed already, so they are asked for as they are (and refused otherwise).
    "Accept-Encoding": "identity",
    "User-Agent": USER_AGENT,
}

_NAT64: Final = ipaddress.IPv6Network("64:ff9b::/96")  # RFC 6052, the well-known prefix
_GLOBAL_UNICAST: Final = ipaddress.IPv6Network("2000::/3")
_DOCUMENTATION_V6: Final = ipaddress.IPv6Network("3fff::/20")  # RFC 9637
_IPV4_COMPATIBLE: Final = ipaddress.IPv6Network("::/96")
#: What inet_aton(3) reads as an IPv4 address: 1 to 4 parts, decimal, octal or hex.
_LEGACY_IPV4 = re.compile(r"(?:0[xX][0-9a-fA-F]*|[0-9]+)(?:\.(?:0[xX][0-9a-fA-F]*|[0-9]+)){0,3}")


def _shown(text: str) -> str:
    return repr(text) if len(text) <= 60 else f"{text[:40]!r}... ({len(text)} chars)"


def check_fetch_target(url: str | httpx.URL, label: str) -> httpx.URL:
    """Parse an input URL; only http(s) with a host is fetched."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as exc:
        reason = str(exc)
        reason = reason if len(reason) <= 80 else reason[:77] + "..."
        raise ConfigurationError(f"{label} is not a valid URL ({reason})") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ConfigurationError(f"{label} must be an http(s) URL with a host")
    return parsed


def literal_address(host: str) -> IPAddress | None:
    """The address ``host`` spells when it is an IP literal (no DNS needed), else ``None``.

    Besides the usual forms this reads what ``inet_aton`` (and so the C resolver) takes
    as IPv4: ``2130706433``, ``0x7f.1``, ``017700000001``, ``127.1`` are all 127.0.0.1.
    """
    text = host.strip("[]")
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        pass
    if _LEGACY_IPV4.fullmatch(text):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(text))
        except OSError:
            return None
    return None


def _ipv4_refusal(ip: ipaddress.IPv4Address) -> str | None:
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address (where cloud metadata services answer)"
    if ip.is_multicast:
        return "a multicast address"
    if ip.is_unspecified or not ip.is_global or ip.is_reserved:
        return "a private, reserved or unspecified address"
    return None


def _embedded(kind: str, inner: ipaddress.IPv4Address) -> str | None:
    reason = _ipv4_refusal(inner)
    return None if reason is None else f"{kind} embedding {inner}, {reason}"


def refusal(ip: IPAddress) -> str | None:
    """Why ``ip`` must not be fetched from, or ``None`` when it is a public address.

    IPv6 addresses that carry an IPv4 address are judged by it: IPv4-mapped
    (``::ffff:a.b.c.d``) and NAT64 (``64:ff9b::/96``, so a DNS64 answer for a public
    IPv4 host is fine); 6to4 (``2002::/16``) and Teredo (``2001::/32``, server and client)
    are refused when either embeds a non-public one. Beyond that only global unicast
    IPv6 (``2000::/3``, minus what is not globally routable) is accepted, which refuses
    IPv4-compatible (``::a.b.c.d``), local-use NAT64 (``64:ff9b:1::/48``), ULA,
    site-local, link-local, multicast and documentation addresses.
    """
    if isinstance(ip, ipaddress.IPv4Address):
        return _ipv4_refusal(ip)
    if ip.ipv4_mapped is not None:
        return _embedded("an IPv4-mapped address", ip.ipv4_mapped)
    if ip in _NAT64:
        return _embedded("a NAT64 address", ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_unspecified:
        return "the unspecified address"
    if ip.is_link_local or ip.is_site_local:
        return "a link-local address"
    if ip.is_multicast:
        return "a multicast address"
    if ip in _IPV4_COMPATIBLE:
        inner = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        return f"an IPv4-compatible address (deprecated) embedding {inner}"
    if ip.teredo is not None:
        for inner in ip.teredo:
            reason = _embedded("a Teredo address", inner)
            if reason is not None:
                return reason
        return "a Teredo address (not globally routable)"
    if ip.sixtofour is not None:
        reason = _embedded("a 6to4 address", ip.sixtofour)
        if reason is not None:
            return reason
    if ip not in _GLOBAL_UNICAST or ip in _DOCUMENTATION_V6 or not ip.is_global:
        return "a private or reserved address"
    return None


def _address(raw: str) -> IPAddress:
    return ipaddress.ip_address(raw.split("%", 1)[0])  # an IPv6 zone index is not checked


def refuse_private_addresses(host: str, addresses: Sequence[str], label: str) -> None:
    """Raise :class:`ConfigurationError` unless every address ``host`` resolved to is public
    (see :func:`refusal`). Checking *every* address stops a name that resolves to one
    public and one private address."""
    for raw in addresses:
        reason = refusal(_address(raw))
        if reason is not None:
            literal = literal_address(host) is not None
            where = "which is" if literal else "which resolves to"
            raise ConfigurationError(
                f"{label}: refusing to fetch from {_shown(host)}, {where} {raw}, {reason} "
                "(pass allow_private_urls=True to the client to allow private addresses)"
            )


@functools.cache
def fetch_ssl_context() -> ssl.SSLContext:
    """The TLS settings of downloads: httpx's defaults (certifi, ``SSL_CERT_FILE``), made once."""
    return httpx.create_ssl_context()


def _host_header(url: httpx.URL) -> str:
    host = url.raw_host.decode("ascii")
    if ":" in host:
        host = f"[{host}]"
    return host if url.port is None else f"{host}:{url.port}"


def pinned_request(
    url: httpx.URL,
    address: str,
    timeout: float,
    trace: Callable[[str, Mapping[str, Any]], Any],
) -> httpx.Request:
    """A GET for ``url`` that connects to ``address`` (checked already) and nowhere else.

    The request line goes to the address; ``Host`` keeps the original name (and port); for
    https the original name is the TLS server name, so the certificate is verified against
    it, not against the address. Credentials in the URL go as Basic auth to that host only.
    ``trace`` is httpcore's trace extension (the caller watches the connection with it).
    """
    headers = {**FETCH_HEADERS, "Host": _host_header(url)}
    if url.username or url.password:
        token = base64.b64encode(f"{url.username}:{url.password}".encode()).decode()
        headers["Authorization"] = f"Basic {token}"
    extensions: dict[str, Any] = {"timeout": httpx.Timeout(timeout).as_dict(), "trace": trace}
    host = url.raw_host.decode("ascii")
    if url.scheme == "https" and literal_address(host) is None:
        extensions["sni_hostname"] = host
    target = url.copy_with(host=address, username=None, password=None, fragment=None)
    return httpx.Request("GET", target, headers=headers, extensions=extensions)


def redirect_target(url: httpx.URL, status: int, headers: httpx.Headers) -> httpx.URL | None:
    """Where a redirect response points, resolved against the URL as the user gave it (not
    the pinned address); ``None`` when the response is not a redirect. Raises ``ValueError``
    for a ``Location`` that is not a URL."""
    location = headers.get("location")
    if status not in _REDIRECTS or not location:
        return None
    try:
        return url.join(location).copy_with(fragment=None)
    except (httpx.InvalidURL, ValueError, TypeError):
        raise ValueError("redirected to an invalid URL") from None
