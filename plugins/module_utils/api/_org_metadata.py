# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module is private to this collection: its API may change without notice.

"""What the org holds of a project's components, and how it differs from the project (drift).

The components are read with the SOAP Metadata API's readMetadata (POST /services/Soap/m/NN.0, at most 10 names of one
type a call), over the REST client's session. Each component, the org's and the project's, becomes a canonical form:
the fields the project's file sets (what the org adds by default is not the project's business), repeated elements
compared as a set (Salesforce does not keep their order), text stripped, booleans in lower case, certificates compared
by their DER content, comma-separated lists as sets. Consumer secrets are compared but never shown.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape

from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._errors import ApiError
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._text import printable
from ansible_collections.sfjwt.salesforce.plugins.module_utils.project._metadata import local_name

SOAP_NS = 'http://schemas.xmlsoap.org/soap/envelope/'
METADATA_NS = 'http://soap.sforce.com/2006/04/metadata'
XSI_TYPE = '{http://www.w3.org/2001/XMLSchema-instance}type'
# readMetadata takes at most 10 full names a call.
READ_BATCH = 10
# Fields whose value is never shown (compared only).
SECRET_FIELDS = frozenset(('consumerSecret',))
SHOWN_SECRET = '(secret, not shown)'
# Fields the org may leave out of what it returns (write-only for the reading user, an Apex body it does not send):
# not compared when it does - the record of the last deploy decides about them (see drift()).
UNREADABLE_FIELDS = frozenset(('consumerSecret', 'consumerKey', 'content'))
# Deeper than this, a record is not something the Metadata API returns.
MAX_DEPTH = 50
CERTIFICATE_FIELDS = frozenset(('certificate', 'oauthLink'))
# SOAP faults that mean "this user may not read metadata", not "the org is unreachable".
NO_ACCESS_CODES = ('INSUFFICIENT_ACCESS', 'API_DISABLED_FOR_ORG', 'FUNCTIONALITY_NOT_ENABLED')


class OrgMetadataUnreadable(ApiError):
    """The org cannot be read by this user (no permission): the caller falls back to its own record."""


def read_type_of(component_type, root):
    """The type readMetadata takes for a component: a Settings file is read as its own type (SecuritySettings...)."""
    return local_name(root.tag) if component_type == 'Settings' else component_type


def read_envelope(session_id, metadata_type, names):
    return ('<?xml version="1.0" encoding="UTF-8"?>'
            '<soapenv:Envelope xmlns:soapenv="%s" xmlns:met="%s">'
            '<soapenv:Header><met:SessionHeader><met:sessionId>%s</met:sessionId></met:SessionHeader></soapenv:Header>'
            '<soapenv:Body><met:readMetadata><met:type>%s</met:type>%s</met:readMetadata></soapenv:Body>'
            '</soapenv:Envelope>' % (SOAP_NS, METADATA_NS, escape(session_id), escape(metadata_type),
                                     ''.join('<met:fullNames>%s</met:fullNames>' % escape(name) for name in names)))


def _soap_fault(root):
    """(code, message) of a SOAP fault answer, or None."""
    for element in root.iter():
        if local_name(element.tag) == 'Fault':
            code = message = ''
            for child in element:
                if local_name(child.tag) == 'faultcode':
                    code = (child.text or '').strip().rsplit(':', 1)[-1]
                elif local_name(child.tag) == 'faultstring':
                    message = (child.text or '').strip()
            return code, message
    return None


def read_components(client, wanted):
    """{(type, fullName): the org's record (an Element) or None when the org has no such component} for wanted, a list
    of (read type, fullName). Raises OrgMetadataUnreadable when the user may not read metadata, ApiError / HttpError
    for anything else."""
    by_type = {}
    for metadata_type, name in wanted:
        by_type.setdefault(metadata_type, []).append(name)
    found = {}
    url_path = '/services/Soap/m/%s' % client.api_version()
    for metadata_type in sorted(by_type):
        names = sorted(set(by_type[metadata_type]))
        for start in range(0, len(names), READ_BATCH):
            batch = names[start:start + READ_BATCH]
            found.update(_read_batch(client, url_path, metadata_type, batch))
    return found


def _read_batch(client, url_path, metadata_type, names):
    what = 'Reading %s %s from the org' % (metadata_type, ', '.join(names))
    while True:
        answer = client.request('POST', url_path, body=read_envelope(client.session_id(), metadata_type, names),
                                headers={'Content-Type': 'text/xml; charset=UTF-8', 'SOAPAction': '""', 'Accept': 'text/xml'})
        root = _soap_root(answer.response.content or b'')
        fault = _soap_fault(root) if root is not None else None
        # SOAP says a session is over with a fault, not a 401: renewed once, the envelope rebuilt with the new one.
        if fault and fault[0] == 'INVALID_SESSION_ID' and client.renew_session():
            continue
        break
    if root is None:
        # No SOAP endpoint there (a proxy, a stand-in that has none): the org cannot be read, as without access.
        error = OrgMetadataUnreadable if answer.status in (404, 405) else ApiError
        raise error('%s: Salesforce answered HTTP %d with %s, not a SOAP answer.' % (what, answer.status, answer.describe()),
                    status=answer.status)
    if fault or answer.status != 200:
        code, message = fault or ('HTTP %d' % answer.status, '')
        for token in client.tokens_used():   # before the cut: no part of a token is left
            message = message.replace(token, '<redacted>')
        error = OrgMetadataUnreadable if code in NO_ACCESS_CODES else ApiError
        raise error('%s failed: %s%s' % (what, printable(code), (': ' + printable(message[:500])) if message else ''),
                    status=answer.status, code=code)
    records = [element for element in root.iter() if local_name(element.tag) == 'records']
    wanted = {name.casefold(): name for name in names}   # Salesforce's names are case-insensitive
    found = {(metadata_type, name): None for name in names}
    for record in records:
        full_name = None
        for child in record:
            if local_name(child.tag) == 'fullName':
                full_name = (child.text or '').strip()
        # An absent component comes back as an empty record (xsi:nil, or no fullName).
        name = wanted.get((full_name or '').casefold())
        if name is not None and len(record) > 1 and found[(metadata_type, name)] is None:
            found[(metadata_type, name)] = record
    return found


def _soap_root(content):
    """The root of a SOAP answer, or None when the answer is not one."""
    try:
        root = ET.fromstring(content)
    except (ET.ParseError, LookupError, ValueError):   # ValueError: an encoding expat cannot read
        return None
    return root if root.tag == '{%s}Envelope' % SOAP_NS else None


# -- the canonical form -------------------------------------------------------------------------------------

def _certificate_content(text):
    """A certificate's DER bytes (base64 inside or outside PEM armor, any line breaks), or the text when it is not one."""
    body = re.sub(r'-----(BEGIN|END) [A-Z ]+-----', '', text)
    body = re.sub(r'\s+', '', body)
    try:
        return 'certificate sha256 ' + hashlib.sha256(base64.b64decode(body, validate=True)).hexdigest()
    except (ValueError, TypeError):
        return text


def canonical(element, name=None, depth=0):
    """A comparable form of an element: its stripped text (booleans lower-cased, line endings as LF), or
    {child name: [forms]} with repeated children sorted, so their order does not count."""
    if depth > MAX_DEPTH:
        raise ApiError('A metadata record is nested more than %d levels deep; that is not something Salesforce returns.' % MAX_DEPTH)
    name = name or local_name(element.tag)
    children = list(element)
    if not children:
        text = (element.text or '').replace('\r\n', '\n').strip()
        if name == 'apiVersion' and re.match(r'^\d{1,3}(\.\d)?$', text):
            return '%.1f' % float(text)
        if text.lower() in ('true', 'false'):
            return text.lower()
        if name in CERTIFICATE_FIELDS and text:
            return _certificate_content(text)
        if name.startswith('commaSeparated'):   # a set written as a list (permission set names)
            return ','.join(sorted(filter(None, (item.strip() for item in text.split(',')))))
        return text
    grouped = {}
    for child in children:
        child_name = local_name(child.tag)
        grouped.setdefault(child_name, []).append(canonical(child, child_name, depth + 1))
    return {child_name: sorted(values, key=lambda value: json.dumps(value, sort_keys=True))
            for child_name, values in grouped.items()}


def differences(project_form, org_form, prefix='', unverified=None):
    """[(field path, org value, project value)] where the org does not hold what the project sets. Fields the project
    does not set are not compared; an entry of a repeated element is held by an org entry that holds its fields; an
    empty element is held by an absent one. A field the org leaves out that it does not return to a reader
    (UNREADABLE_FIELDS) is not compared: its path goes to ``unverified``."""
    found = []
    for field in sorted(project_form):
        wanted = project_form[field]
        have = org_form.get(field) if isinstance(org_form, dict) else None
        path = prefix + field
        if have is None and field in UNREADABLE_FIELDS:
            if unverified is not None:
                unverified.append(path)
            continue
        if have is None and all(item == '' for item in wanted):
            continue
        if have is not None and len(wanted) == 1 and len(have) == 1 and isinstance(wanted[0], dict) and isinstance(have[0], dict):
            found.extend(differences(wanted[0], have[0], path + '.', unverified))
        elif not _holds(have or [], wanted):
            found.append((path, have, wanted))
    return found


def _holds(have, wanted):
    """Whether the org's values of a field hold the project's: the same texts (in any order), and for each entry
    (a dict) of the project's an org entry that holds its fields."""
    entries = [item for item in wanted if isinstance(item, dict)]
    texts = [item for item in wanted if not isinstance(item, dict)]
    if texts != [item for item in have if not isinstance(item, dict)]:
        return False
    return all(any(isinstance(item, dict) and not differences(entry, item) for item in have) for entry in entries)


def shown(field, value):
    """A value for the drift report: secrets masked at any depth, server text made printable, one-element lists
    unwrapped."""
    if value is None:
        return None
    value = _mask(value, field.rsplit('.', 1)[-1])
    if isinstance(value, list):
        value = [_mask(item) for item in value]
        if len(value) == 1:
            value = value[0]
    return _printable_form(value)


def _printable_form(value):
    if isinstance(value, dict):
        return {printable(name): _printable_form(item) for name, item in value.items()}
    if isinstance(value, list):
        return [_printable_form(item) for item in value]
    return printable(value) if isinstance(value, str) else value


def _mask(form, field=''):
    if field in SECRET_FIELDS:
        return SHOWN_SECRET
    if isinstance(form, dict):
        return {name: [_mask(value, name) for value in values] for name, values in form.items()}
    return form


def _restricted(org_form, project_form):
    """The org's form cut to the fields the project sets (for the diff's "before")."""
    if not isinstance(org_form, dict) or not isinstance(project_form, dict):
        return org_form
    kept = {}
    for field, values in project_form.items():
        if field not in org_form:
            continue
        have = org_form[field]
        if len(values) == 1 and len(have) == 1 and isinstance(values[0], dict):
            kept[field] = [_restricted(have[0], values[0])]
        else:
            kept[field] = have
    return kept


def _text(form):
    return json.dumps(form, indent=2, sort_keys=True) + '\n' if form is not None else ''


class ProjectComponent:
    """A component as the project defines it: the type readMetadata takes, its name, and its canonical form."""

    def __init__(self, component, root, content=None):
        self.type = component.type
        self.name = component.name
        self.source = component.source
        self.read_type = read_type_of(component.type, root)
        form = canonical(root)
        self.form = form if isinstance(form, dict) else {}   # an empty file sets no field
        if content is not None:   # Apex: the source file is a field of the record
            self.form['content'] = [content.decode('utf-8', errors='replace').replace('\r\n', '\n').strip()]

    @property
    def key(self):
        return (self.read_type, self.name)


def project_components(components):
    """ProjectComponent of each deploy component (_deploy_source.Component): the -meta.xml file, and an Apex source."""
    found = []
    for component in components:
        metas = [data for name, data in component.entries.items() if name.endswith('-meta.xml')]
        if metas:
            content = [data for name, data in component.entries.items() if not name.endswith('-meta.xml')]
            found.append(ProjectComponent(component, ET.fromstring(metas[0]), content[0] if content else None))
        else:
            found.append(ProjectComponent(component, ET.fromstring(list(component.entries.values())[0])))
    return found


def org_form(record, component):
    form = canonical(record)
    if isinstance(form, dict) and 'content' in form and 'content' in component.form:
        try:
            form['content'] = [base64.b64decode(''.join(form['content'])).decode('utf-8', errors='replace')
                               .replace('\r\n', '\n').strip()]
        except (ValueError, TypeError):
            pass
    return form


def drift(client, components):
    """(report, diff, unverified) of how the org differs from the project's components (ProjectComponent): report is a
    list of {type, name, state ('missing' | 'differs'), fields: [{field, org, project}]}, secrets masked; diff a list
    of before/after texts for Ansible's --diff; unverified the fields the org did not show ('Type Name field')."""
    org = read_components(client, [component.key for component in components])
    report, diff, unverified = [], [], []
    for component in sorted(components, key=lambda item: item.key):
        record = org.get(component.key)
        if record is None:
            report.append(dict(type=component.type, name=component.name, state='missing', fields=[]))
            before = None
        else:
            form = org_form(record, component)
            hidden = []
            changes = differences(component.form, form, unverified=hidden)
            unverified.extend('%s %s %s' % (component.type, component.name, field) for field in hidden)
            if not changes:
                continue
            report.append(dict(type=component.type, name=component.name, state='differs',
                               fields=[dict(field=field, org=shown(field, have), project=shown(field, wanted))
                                       for field, have, wanted in changes]))
            before = _mask(_restricted(form, component.form))
        diff.append(dict(before_header='%s %s (in the org)' % (component.type, component.name),
                         after_header='%s %s (%s)' % (component.type, component.name, component.source),
                         before=_text(before), after=_text(_mask(component.form))))
    return report, diff, unverified


def drift_summary(report):
    """One line per drifted component, for the task's message and the logs."""
    lines = []
    for entry in report:
        if entry['state'] == 'missing':
            lines.append('%s %s is not in the org' % (entry['type'], entry['name']))
        else:
            fields = ', '.join(field['field'] for field in entry['fields'])
            lines.append('%s %s differs in the org: %s' % (entry['type'], entry['name'], fields))
    return lines
