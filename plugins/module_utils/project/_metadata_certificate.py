# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module is private to this collection: its API may change without notice.

"""The certificate as app metadata takes it: a PEM or its base64 body (any white space), back as the one canonical PEM
the metadata holds, and refused when it has expired or is not valid yet."""

from __future__ import annotations

import base64
import binascii
import datetime
import re

from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._errors import InputError
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._x509 import iso8601, load_der_certificate, not_after, not_before, utc_now

PEM_CERT_RE = re.compile(r'-----BEGIN CERTIFICATE-----(.*?)-----END CERTIFICATE-----', re.S)
PEM_BEGIN = '-----BEGIN CERTIFICATE-----'
PEM_END = '-----END CERTIFICATE-----'
PEM_LINE_LENGTH = 64
# How messages name a certificate given as content rather than as a path.
CERTIFICATE_OPTION = 'given in the certificate option'
# A certificate issued a moment ago on a host whose clock runs ahead is not refused as "not yet valid".
CLOCK_SKEW = datetime.timedelta(minutes=5)
RENEW_WITH = 'sfjwt.salesforce.certificate with force=true, or ansible-playbook sfjwt.salesforce.rotate_certificate'


def certificate_der(certificate):
    """DER bytes of a certificate given as PEM text or as its bare base64 body (as the certificate module returns it).

    Whitespace and line breaks anywhere in the base64 are ignored.
    """
    if not isinstance(certificate, str) or not certificate.strip():
        raise InputError('certificate is empty: give the PEM certificate (the certificate module returns it as '
                         'certificate) or certificate_path.')
    text = certificate.strip()
    if '-----BEGIN' in text:
        found = PEM_CERT_RE.findall(text)
        if not found:
            raise InputError('certificate holds PEM data, but no "-----BEGIN CERTIFICATE-----" block: '
                             'give the certificate, not a key or a CSR.')
        if len(found) > 1:
            raise InputError('certificate holds %d certificates; Salesforce takes exactly one, the self-signed '
                             'certificate of the JWT signing key.' % len(found))
        text = found[0]
    body = ''.join(text.split())
    try:
        der = base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        raise InputError('certificate is neither a PEM certificate nor its base64 body.') from None
    if not der:
        raise InputError('certificate is empty: give the PEM certificate or certificate_path.')
    return der


def certificate_body(certificate):
    """Base64 body of a certificate (PEM or body) on one line, without BEGIN/END lines."""
    return base64.b64encode(certificate_der(certificate)).decode('ascii')


def pem_of_der(der):
    """The canonical PEM of DER bytes: BEGIN line, base64 in 64-character lines, END line; no final line break.

    Re-encoded from the DER, so the same certificate always gives the same text, whatever the input's whitespace.
    """
    body = base64.b64encode(der).decode('ascii')
    lines = [body[i:i + PEM_LINE_LENGTH] for i in range(0, len(body), PEM_LINE_LENGTH)]
    return '\n'.join([PEM_BEGIN] + lines + [PEM_END])


def certificate_pem(certificate):
    """The canonical PEM (see pem_of_der) of a certificate given as PEM or as its base64 body.

    This is what the <certificate> element of the metadata holds: the Metadata API reference calls it
    "the PEM-encoded certificate string", BEGIN/END lines included.
    """
    return pem_of_der(certificate_der(certificate))


def load_certificate_der(der):
    """The X.509 certificate of DER bytes; fails when they are not one."""
    try:
        return load_der_certificate(der)
    except ValueError:
        raise InputError('certificate does not decode to an X.509 certificate: give the certificate written by '
                         'the certificate module.') from None


def check_certificate_validity(certificate, source=CERTIFICATE_OPTION, now=None):
    """Refuse a certificate that has expired or is not valid yet: an app must not be written with it.

    source names the certificate in the message: its path, or CERTIFICATE_OPTION.
    """
    now = now or utc_now()
    if not_after(certificate) <= now:
        raise InputError('The certificate %s expired on %s. Issue a new certificate for the same key (%s) and write '
                         'the metadata with it. Nothing was written.' % (source, iso8601(not_after(certificate)), RENEW_WITH))
    if not_before(certificate) > now + CLOCK_SKEW:
        raise InputError('The certificate %s is not valid before %s; it is %s on this host. Check the clock of this host '
                         'and of the host that issued the certificate, or issue a new certificate for the same key (%s) '
                         'and write the metadata with it. Nothing was written.'
                         % (source, iso8601(not_before(certificate)), iso8601(now), RENEW_WITH))
