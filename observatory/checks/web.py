"""Checks of what the domain publishes over HTTPS: XEP-0156 host-meta, ``_xmppconnect``, POSH."""

from __future__ import annotations

from observatory.checks import EndpointContext, Outcome, ScanContext, endpoint_check, scan_check
from observatory.posh import PoshStatus


@scan_check("xmpp.hostmeta.insecure-link")
def insecure_link(ctx: ScanContext) -> Outcome:
    http = ctx.facts.http
    if http is None or http.host_meta is None:
        return False
    hrefs = {
        link.href
        for document in http.host_meta.documents
        for link in document.links
        if link.method is not None and link.secure is False and link.href
    }
    return ", ".join(sorted(hrefs)) if hrefs else False


@scan_check("xmpp.hostmeta.plain-http-only")
def plain_http_only(ctx: ScanContext) -> Outcome:
    http = ctx.facts.http
    return http is not None and http.host_meta is not None and http.host_meta.only_plain_http


@scan_check("dns.xmppconnect.present")
def xmppconnect_present(ctx: ScanContext) -> Outcome:
    http = ctx.facts.http
    if http is None or http.xmppconnect is None or not http.xmppconnect.records:
        return False
    return "; ".join(record.raw for record in http.xmppconnect.records[:4])


@endpoint_check("posh.mismatch")
def posh_mismatch(ctx: EndpointContext) -> Outcome:
    if ctx.posh is None or ctx.posh.status is not PoshStatus.MISMATCH:
        return False
    return ctx.posh.reason or True
