# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A fake Salesforce org over HTTPS, for the integration tests, `make demo` and the benchmarks.

It behaves as Salesforce documents (https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_jwt_flow.htm,
the REST and Metadata API guides) and as observed where they are silent: the JWT Bearer token
endpoint (each documented error), sessions checked by the REST API (versions, limits, SOQL query /
queryAll with pagination, sobjects CRUD, sObject Collections, per-endpoint API-call counts, the 16,384-byte
request URI limit), the setup objects behind pre-authorization (User,
PermissionSet, PermissionSetAssignment, Organization), the Metadata API deploy over REST and SOAP (External Client
Apps, Connected App updates, permission sets, Apex; SOAP readMetadata / listMetadata read them back) with its propagation delay before the token
endpoint sees a deployed OAuth change, revoke and userinfo, plus switches that make it fail on purpose.
Test tooling, not part of the collection.

    from fake_org import FakeOrg
    with FakeOrg(tmp_path) as org:
        org.add_user('integration@example.com', permission_sets=['SFJWT_Integration'])
        org.add_app('CONSUMERKEY', certificate_pem, permission_sets=['SFJWT_Integration'])
        org.add_user('admin@example.com', admin=True)   # may POST .../metadata/deployRequest
        ...  # point clients at org.url with ca_path=org.ca_path

Module map: server (FakeOrg and the HTTPS plumbing), oauth (token / revoke / userinfo), rest and data
(the REST API and its records), composite (sObject Collections: create / update / upsert by External ID / delete /
retrieve, 200 records a call, allOrNone), soql (query parser), records (the sObject store, field validation, Account
and the custom object Integration_Setting__c with its External ID Key__c),
directory (User, PermissionSet, PermissionSetAssignment, Organization), identities (users, apps, keys),
deploy (the Metadata API deploy engine, its REST front end and its log), soap (the SOAP Metadata API), metadata (Metadata API format: types, package.xml,
component checks), apps (apps over time: versions with effective_at, deployed components), faults (the
switches), admin (the /_fake/ HTTP API), pytest_plugin (fixtures), __main__ (the command line).

Many orgs: fleet (FakeFleet: productions, sandboxes, Dev Hubs and scratch orgs sharing one CA and one selector thread,
behind a login host that routes token requests by username; `python -m fake_org.fleet`) and tooling (the Tooling API's
SandboxInfo / SandboxProcess, the Dev Hub's ScratchOrgInfo / ActiveScratchOrg).
"""

from .server import LOGIN_AUDIENCE, SANDBOX_AUDIENCE, FakeOrg

__all__ = ['FakeOrg', 'LOGIN_AUDIENCE', 'SANDBOX_AUDIENCE']
