# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module is private to this collection: its API may change without notice.

"""What the sfjwt.salesforce.orgs inventory asks Salesforce: one session per discovery source, from the auth core and its
token cache (the play that follows reuses it), and the queries of the collection's REST client (paging, one renewal of
a rejected session, errors that say what to do).

- devhub: one query of ScratchOrgInfo (the active scratch orgs).
- sandboxes_of: two Tooling API queries, SandboxInfo and SandboxProcess (joined in _org_inventory).
- org_facts: one more query, of the identity's Organization row (its instance and edition).
"""

from __future__ import annotations

from ansible_collections.sfjwt.salesforce.plugins.module_utils.api import _rest as rest
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core import _auth as auth
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._errors import SalesforceError
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._options import options_from_mapping
from ansible_collections.sfjwt.salesforce.plugins.plugin_utils._org_inventory import Discovery, SourceFailure

SCRATCH_ORG_QUERY = ("SELECT Id, OrgName, SignupUsername, LoginUrl, ScratchOrg, ExpirationDate, Status, Edition, CreatedDate "
                     "FROM ScratchOrgInfo WHERE Status = 'Active' ORDER BY CreatedDate, Id")
SANDBOX_INFO_QUERY = 'SELECT Id, SandboxName, LicenseType, Description FROM SandboxInfo'
ORGANIZATION_QUERY = 'SELECT Id, Name, InstanceName, OrganizationType, IsSandbox FROM Organization'
SANDBOX_PROCESS_QUERY = ('SELECT Id, SandboxInfoId, SandboxName, LicenseType, Status, CopyProgress, SandboxOrganization, '
                         'StartDate, EndDate, LastModifiedDate FROM SandboxProcess')

FIXES = {
    'devhub': 'Check that the org is a Dev Hub (Setup > Dev Hub enabled), that the user can read Scratch Org Infos (a Dev '
              'Hub user\'s permission set), and that the app has the Api scope.',
    'sandboxes_of': 'Check that the org is a production org, that the user may see its sandboxes (the "Manage Sandboxes" '
                    'permission; SandboxInfo and SandboxProcess of the Tooling API), and that the app has the Api scope.',
}


class ToolingClient(rest.RestClient):
    """The REST client with its queries sent to the Tooling API (tooling/query): paging and every check of
    RestClient.query apply unchanged, since Salesforce's nextRecordsUrl already names the tooling resource."""

    def request(self, method, path, *args, **kwargs):  # pylint: disable=arguments-differ
        if path in ('query', 'queryAll'):
            path = 'tooling/' + path
        return super().request(method, path, *args, **kwargs)


def _client(source, warn):
    """One session for the source's identity (from the token cache while fresh) and a client on it."""
    options = options_from_mapping(source.resolved, warn=warn)
    credentials = rest.SessionCredentials(options, auth)
    return rest.RestClient(credentials, rest.build_rest_http_session(options), api_version=source.api_version, warn=warn)


def _tooling(client):
    """A Tooling API client on the same session and HTTP session (the API version found by the first is reused)."""
    return ToolingClient(client.credentials, client.http, api_version=client.version or client.requested_version,
                         warn=client.warn)


ORG_FACTS_FIX = ('Check that the user has the "API Enabled" permission and the app the Api scope, or leave org_facts '
                 'out.')


def _failure(source, exc, what):
    fix = '' if what == 'login' else ORG_FACTS_FIX if 'Organization' in what else FIXES[source.kind]
    return SourceFailure('%s: %s failed: %s%s' % (source.where, what, exc.message, (' ' + fix) if fix else ''))


def discover(source, warn=None):
    """The Discovery of a devhub or sandboxes_of source; SourceFailure naming the source, the step and the fix."""
    warn = warn or (lambda message: None)
    try:
        client = _client(source, warn)
    except SalesforceError as exc:
        raise _failure(source, exc, 'login') from None
    answer = Discovery(org_id=client.credentials.org_id, instance_url=client.instance_url)
    what = 'the query of its scratch orgs (ScratchOrgInfo)'
    try:
        if source.kind == 'devhub':
            answer.scratch_orgs = client.query(SCRATCH_ORG_QUERY)['records']
        else:
            tooling = _tooling(client)
            what = 'the query of its sandboxes (Tooling API SandboxInfo)'
            answer.sandbox_infos = tooling.query(SANDBOX_INFO_QUERY)['records']
            what = 'the query of its sandbox copies (Tooling API SandboxProcess)'
            answer.sandbox_processes = tooling.query(SANDBOX_PROCESS_QUERY)['records']
        if source.org_facts:
            what = 'the query of its Organization row (org_facts)'
            rows = client.query(ORGANIZATION_QUERY)['records']
            answer.organization = rows[0] if rows else {}
    except SalesforceError as exc:
        raise _failure(source, exc, what) from None
    return answer
