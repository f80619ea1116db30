# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Drift: the project's components read back from the org (SOAP readMetadata) and compared with the project; what
metadata_deploy decides from it."""

from __future__ import annotations

import copy
import datetime
import json
import xml.etree.ElementTree as ET

import pytest

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID

from ansible_collections.sfjwt.salesforce.plugins.module_utils.api import _deploy as deploy
from ansible_collections.sfjwt.salesforce.plugins.module_utils.api import _org_metadata as org_metadata
from ansible_collections.sfjwt.salesforce.plugins.module_utils.api import _rest as rest
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._errors import ApiError
from ansible_collections.sfjwt.salesforce.tests.unit.plugins.module_utils.deploy_projects import (
    NS, SOAP_PATH, DeployHttp as Http, app_project, read_metadata_answer, unreadable_org, write_files, zip_components)
from ansible_collections.sfjwt.salesforce.tests.unit.plugins.module_utils.fakes import (
    INSTANCE, NEW_TOKEN, TOKEN, FakeAuth, make_response, response)

DEPLOY_ID = '0Afxx00000001ABCAA'
DEPLOY_PATH = '/services/data/v62.0/metadata/deployRequest'
STATUS_PATH = DEPLOY_PATH + '/' + DEPLOY_ID
POLICIES = ('ExtlClntAppOauthConfigurablePolicies', 'SfjwtApp')
SETTINGS = ('ExtlClntAppGlobalOauthSettings', 'SfjwtApp')


class Org:
    """An org whose metadata is ``components`` ({(type, name): root}); a deploy saves its zip's components."""

    def __init__(self, components=None):
        self.components = dict(components or {})
        self.pending = {}
        self.deploys = 0

    def __call__(self, call):
        if call['path'] == SOAP_PATH:
            return read_metadata_answer(self.components, call['data'])
        if call['method'] == 'POST' and call['path'] == DEPLOY_PATH:
            self.deploys += 1
            self.pending = zip_components(call['files']['file'][1])
            return make_response(201, {'id': DEPLOY_ID, 'deployResult': {'status': 'Pending'}})
        if call['method'] == 'GET' and call['path'] == STATUS_PATH:
            self.components.update(self.pending)
            return make_response(200, {'id': DEPLOY_ID, 'deployResult': {
                'id': DEPLOY_ID, 'status': 'Succeeded', 'done': True, 'success': True, 'numberComponentsTotal': 6,
                'numberComponentsDeployed': 6, 'details': {'componentFailures': [], 'componentSuccesses': []}}})
        return pytest.fail('unexpected request %s %s' % (call['method'], call['path']))


def client_for(handler):
    http = Http(handler)
    return rest.RestClient(rest.StaticCredentials(TOKEN, INSTANCE), http, api_version='62.0'), http


def deployed(tmp_path, certificate_pem):
    """An app project and an org that holds it, deployed by metadata_deploy."""
    project = app_project(tmp_path, certificate_pem)
    org = Org()
    deploy.run(client_for(org)[0], project, poll_interval=0.1)
    assert org.deploys == 1
    return project, org


def set_field(org, key, field, value):
    """Change a field of a component in the org, as someone in Setup would."""
    root = copy.deepcopy(org.components[key])
    element = root.find('{%s}%s' % (NS, field))
    if element is None:
        element = ET.SubElement(root, '{%s}%s' % (NS, field))
    element.text = value
    org.components[key] = root


def sent(http):
    return [(call['method'], call['path']) for call in http.calls if call['path'] != SOAP_PATH]


def test_a_rerun_reads_the_org_and_sends_no_deploy(tmp_path, certificate_pem):
    project, org = deployed(tmp_path, certificate_pem)
    client, http = client_for(org)
    result = deploy.run(client, project)
    assert (result['changed'], result['drift'], result['diff'], sent(http)) == (False, [], [], [])
    # One readMetadata a type, each naming the app.
    assert len([call for call in http.calls if call['path'] == SOAP_PATH]) == 6


def test_a_change_made_in_the_org_is_found_shown_and_put_back(tmp_path, certificate_pem):
    project, org = deployed(tmp_path, certificate_pem)
    set_field(org, POLICIES, 'permittedUsersPolicyType', 'AllSelfAuthorized')
    set_field(org, POLICIES, 'ipRelaxationPolicyType', 'BypassUsingMfa')
    progress = []
    client, http = client_for(org)
    result = deploy.run(client, project, progress=progress.append, poll_interval=0.1)
    assert result['changed'] is True and org.deploys == 2
    assert result['drift'] == [{'type': 'ExtlClntAppOauthConfigurablePolicies', 'name': 'SfjwtApp', 'state': 'differs', 'fields': [
        {'field': 'ipRelaxationPolicyType', 'org': 'BypassUsingMfa', 'project': 'Enforce'},
        {'field': 'permittedUsersPolicyType', 'org': 'AllSelfAuthorized', 'project': 'AdminApprovedPreAuthorized'}]}]
    assert progress[0] == 'ExtlClntAppOauthConfigurablePolicies SfjwtApp differs in the org: ipRelaxationPolicyType, permittedUsersPolicyType'
    [diff] = result['diff']
    assert diff['before_header'] == 'ExtlClntAppOauthConfigurablePolicies SfjwtApp (in the org)'
    assert json.loads(diff['before'])['permittedUsersPolicyType'] == ['AllSelfAuthorized']
    assert json.loads(diff['after'])['permittedUsersPolicyType'] == ['AdminApprovedPreAuthorized']
    # Put back: the next run finds nothing to do.
    client, http = client_for(org)
    assert deploy.run(client, project)['changed'] is False and sent(http) == []


def test_check_mode_shows_the_drift_and_validates_only(tmp_path, certificate_pem):
    project, org = deployed(tmp_path, certificate_pem)
    set_field(org, POLICIES, 'permittedUsersPolicyType', 'AllSelfAuthorized')
    client, http = client_for(org)
    result = deploy.run(client, project, check_mode=True, poll_interval=0.1)
    assert result['changed'] is True and result['check_only'] is True and len(result['drift']) == 1
    post = [call for call in http.calls if call['path'] == DEPLOY_PATH][0]
    assert json.loads(post['files']['json'][1])['deployOptions']['checkOnly'] is True


def test_order_formatting_and_what_the_org_adds_are_not_drift(tmp_path, certificate_pem):
    project, org = deployed(tmp_path, certificate_pem)
    set_field(org, POLICIES, 'commaSeparatedPermissionSet', ' Sfjwt_Users ')
    set_field(org, POLICIES, 'isTokenExchangeEnabled', 'false')   # a field the project does not set
    settings = org.components[SETTINGS]
    certificate = settings.find('{%s}certificate' % NS)
    # The same certificate as the one-line base64 body, and the elements in another order.
    certificate.text = ''.join(line for line in certificate.text.splitlines() if not line.startswith('-----'))
    children = list(settings)
    for child in children:
        settings.remove(child)
    for child in reversed(children):
        settings.append(child)
    client, http = client_for(org)
    assert deploy.run(client, project)['drift'] == []


def test_a_different_certificate_is_drift(tmp_path, certificate_pem, other_key):
    project, org = deployed(tmp_path, certificate_pem)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, 'another')])
    now = datetime.datetime.now(datetime.timezone.utc)
    other = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(other_key.public_key())
             .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1)).sign(other_key, hashes.SHA256()))
    set_field(org, SETTINGS, 'certificate', other.public_bytes(serialization.Encoding.PEM).decode())
    client, http = client_for(org)
    drift = deploy.run(client, project, poll_interval=0.1)['drift']
    assert [(entry['name'], [field['field'] for field in entry['fields']]) for entry in drift] == [('SfjwtApp', ['certificate'])]


def test_a_consumer_secret_is_compared_but_never_shown(tmp_path, certificate_pem):
    project, org = deployed(tmp_path, certificate_pem)
    path = tmp_path / 'force-app/main/default/extlClntAppGlobalOauthSets/SfjwtApp.ecaGlblOauth-meta.xml'
    path.write_text(path.read_text().replace('<label>', '<consumerSecret>PROJECT-SECRET-1</consumerSecret>\n    <label>'))
    # The org does not return a secret to this reader: not compared, no drift.
    client, http = client_for(org)
    assert deploy.run(client, project)['drift'] == []
    set_field(org, SETTINGS, 'consumerSecret', 'ORG-SECRET-2')
    client, http = client_for(org)
    result = deploy.run(client, project, poll_interval=0.1)
    assert result['drift'][0]['fields'] == [{'field': 'consumerSecret', 'org': '(secret, not shown)', 'project': '(secret, not shown)'}]
    shown = json.dumps(result)
    assert 'PROJECT-SECRET-1' not in shown and 'ORG-SECRET-2' not in shown


def test_an_org_the_user_may_not_read_falls_back_to_the_record_with_a_warning(tmp_path, certificate_pem):
    project, org = deployed(tmp_path, certificate_pem)
    set_field(org, POLICIES, 'permittedUsersPolicyType', 'AllSelfAuthorized')
    warnings = []
    client, http = client_for(unreadable_org(org))
    result = deploy.run(client, project, warn=warnings.append)
    assert result['changed'] is False and result['drift'] is None and sent(http) == []
    assert warnings == [
        'Reading ExternalClientApplication SfjwtApp from the org failed: INSUFFICIENT_ACCESS: INSUFFICIENT_ACCESS: '
        'insufficient access rights on entity. Without read access to the org\'s metadata, whether the org still matches '
        'the project is decided from %s (what this machine deployed), not from the org: a change made in the org is not '
        'seen. Give the deploying user "Modify Metadata Through Metadata API Functions" (or "View Setup and '
        'Configuration").' % (tmp_path / '.sfjwt-deploy.json')]


@pytest.mark.parametrize('answer, message', [
    (response(500, body=b'<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>'
              b'<soapenv:Fault><faultcode>sf:INVALID_TYPE</faultcode><faultstring>No such type\xe2\x80\xae'
              b'</faultstring></soapenv:Fault></soapenv:Body></soapenv:Envelope>', content_type='text/xml'),
     "Reading the org's metadata to compare it with the project failed: Reading ExternalClientApplication SfjwtApp "
     "from the org failed: INVALID_TYPE: No such type\\u202e (force=true deploys without comparing.)"),
    (response(200, text='<html><title>Down for Maintenance</title></html>', content_type='text/html'),
     "Reading the org's metadata to compare it with the project failed: Reading ExternalClientApplication SfjwtApp "
     "from the org: Salesforce answered HTTP 200 with an HTML page titled \"Down for Maintenance\" (maintenance or an "
     "error page), not a SOAP answer. (force=true deploys without comparing.)"),
])
def test_an_org_that_cannot_be_read_otherwise_fails_the_task(tmp_path, certificate_pem, answer, message):
    project, org = deployed(tmp_path, certificate_pem)
    client, http = client_for(lambda call: answer if call['path'] == SOAP_PATH else org(call))
    with pytest.raises(ApiError) as caught:
        deploy.run(client, project)
    assert str(caught.value) == message


def test_names_are_read_ten_a_call_and_escaped(tmp_path):
    names = ['Set_%02d' % number for number in range(12)] + ['A&B']
    files = {'force-app/main/default/permissionsets/%s.permissionset-meta.xml' % name:
             b'<?xml version="1.0" encoding="UTF-8"?>\n<PermissionSet xmlns="%s"><label>x</label></PermissionSet>\n' % NS.encode()
             for name in names}
    project = write_files(tmp_path, files)
    org = Org()
    client, http = client_for(org)
    result = deploy.run(client, project, check_mode=True, poll_interval=0.1)
    reads = [ET.fromstring(call['data']) for call in http.calls if call['path'] == SOAP_PATH]
    assert [len(read.findall('.//{%s}fullNames' % org_metadata.METADATA_NS)) for read in reads] == [10, 3]
    assert b'<met:fullNames>A&amp;B</met:fullNames>' in http.calls[0]['data'].encode()
    assert [entry['state'] for entry in result['drift']] == ['missing'] * 13


def test_settings_are_read_as_their_own_type(tmp_path):
    project = write_files(tmp_path, {'force-app/main/default/settings/Security.settings-meta.xml':
                                     b'<?xml version="1.0" encoding="UTF-8"?>\n<SecuritySettings xmlns="%s"><enableAdminLoginAsAnyUser>'
                                     b'true</enableAdminLoginAsAnyUser></SecuritySettings>\n' % NS.encode()})
    org = Org({('SecuritySettings', 'Security'): ET.fromstring(
        b'<SecuritySettings xmlns="%s"><enableAdminLoginAsAnyUser>True</enableAdminLoginAsAnyUser></SecuritySettings>' % NS.encode())})
    client, http = client_for(org)
    assert deploy.run(client, project)['drift'] == []
    assert ET.fromstring(http.calls[0]['data']).find('.//{%s}type' % org_metadata.METADATA_NS).text == 'SecuritySettings'


SESSION_FAULT = (b'<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><soapenv:Fault>'
                 b'<faultcode>sf:INVALID_SESSION_ID</faultcode><faultstring>INVALID_SESSION_ID: Invalid Session ID found in '
                 b'SessionHeader: Illegal Session</faultstring></soapenv:Fault></soapenv:Body></soapenv:Envelope>')


def test_a_session_the_soap_api_rejects_is_renewed_once_and_the_envelope_rebuilt(tmp_path, certificate_pem):
    project, org = deployed(tmp_path, certificate_pem)

    def expired_first(call):
        if call['path'] == SOAP_PATH and TOKEN + '<' in call['data']:
            return response(500, body=SESSION_FAULT, content_type='text/xml')
        return org(call)
    auth = FakeAuth()
    http = Http(expired_first)
    client = rest.RestClient(rest.SessionCredentials(None, auth), http, api_version='62.0')
    result = deploy.run(client, project)
    assert result['changed'] is False and result['drift'] == []
    envelopes = [call['data'] for call in http.calls if call['path'] == SOAP_PATH]
    assert TOKEN in envelopes[0] and all(NEW_TOKEN in envelope for envelope in envelopes[1:]) and len(envelopes) == 7
    assert auth.invalidated == [TOKEN]


def test_a_missing_soap_endpoint_falls_back_to_the_record(tmp_path, certificate_pem):
    project, org = deployed(tmp_path, certificate_pem)
    warnings = []
    client, http = client_for(lambda call: make_response(404, [{'errorCode': 'NOT_FOUND', 'message': 'no'}])
                              if call['path'] == SOAP_PATH else org(call))
    result = deploy.run(client, project, warn=warnings.append)
    assert result['changed'] is False and result['drift'] is None and sent(http) == []
    assert warnings[0].startswith('Reading ExternalClientApplication SfjwtApp from the org: Salesforce answered HTTP 404 with')


def test_what_the_org_does_not_show_is_deployed_when_the_project_changed(tmp_path, certificate_pem):
    """A new consumer secret in the project: the org does not return secrets, so only the record says the project
    changed since its last deploy there - and it is deployed."""
    project, org = deployed(tmp_path, certificate_pem)
    path = tmp_path / 'force-app/main/default/extlClntAppGlobalOauthSets/SfjwtApp.ecaGlblOauth-meta.xml'
    path.write_text(path.read_text().replace('<label>', '<consumerSecret>NEW-SECRET-3</consumerSecret>\n    <label>'))
    progress = []
    client, http = client_for(org)
    result = deploy.run(client, project, progress=progress.append, poll_interval=0.1)
    assert result['changed'] is True and result['drift'] == [] and org.deploys == 2
    assert progress[0] == 'The org holds the project as far as it shows it, but the project changed since its last deploy to this org: deploying.'
    client, http = client_for(org)
    assert deploy.run(client, project)['changed'] is False


def test_repeated_entries_the_org_completes_and_empty_elements_are_not_drift(tmp_path):
    permission_set = (b'<?xml version="1.0" encoding="UTF-8"?>\n<PermissionSet xmlns="%s"><description/><label>P</label>'
                      b'<fieldPermissions><field>Account.Name</field><editable>true</editable></fieldPermissions>'
                      b'<fieldPermissions><field>Account.Site</field><editable>false</editable></fieldPermissions>'
                      b'</PermissionSet>\n' % NS.encode())
    project = write_files(tmp_path, {'force-app/main/default/permissionsets/P.permissionset-meta.xml': permission_set})
    in_org = ('<PermissionSet xmlns="%s"><label>P</label>'
              '<fieldPermissions><editable>false</editable><field>Account.Site</field><readable>true</readable></fieldPermissions>'
              '<fieldPermissions><editable>true</editable><field>Account.Name</field><readable>true</readable></fieldPermissions>'
              '<fieldPermissions><editable>false</editable><field>Account.Phone</field><readable>true</readable></fieldPermissions>'
              '</PermissionSet>' % NS)
    org = Org({('PermissionSet', 'p'): ET.fromstring(in_org)})   # the org's name in another case
    client, http = client_for(org)
    assert deploy.run(client, project)['drift'] == []
    org.components[('PermissionSet', 'p')] = ET.fromstring(in_org.replace('<editable>true</editable><field>Account.Name',
                                                                          '<editable>false</editable><field>Account.Name'))
    client, http = client_for(org)
    drift = deploy.run(client, project, check_mode=True, poll_interval=0.1)['drift']
    assert [[field['field'] for field in entry['fields']] for entry in drift] == [['fieldPermissions']]


def test_a_nested_secret_is_masked_in_the_drift_report(tmp_path):
    connected_app = (b'<?xml version="1.0" encoding="UTF-8"?>\n<ConnectedApp xmlns="%s"><contactEmail>a@example.com</contactEmail>'
                     b'<label>C</label><oauthConfig><callbackUrl>https://x.example.com/cb</callbackUrl>'
                     b'<consumerSecret>TOPSECRET-PROJ</consumerSecret></oauthConfig></ConnectedApp>\n' % NS.encode())
    project = write_files(tmp_path, {'force-app/main/default/connectedApps/C.connectedApp-meta.xml': connected_app})
    for in_org in ('<ConnectedApp xmlns="%s"><contactEmail>a@example.com</contactEmail><label>C</label></ConnectedApp>',
                   '<ConnectedApp xmlns="%s"><contactEmail>a@example.com</contactEmail><label>C</label><oauthConfig>'
                   '<consumerSecret>ORGSECRET</consumerSecret></oauthConfig><oauthConfig><consumerSecret>ORG2</consumerSecret>'
                   '</oauthConfig></ConnectedApp>'):
        org = Org({('ConnectedApp', 'C'): ET.fromstring(in_org % NS)})
        client, http = client_for(org)
        result = deploy.run(client, project, check_mode=True, poll_interval=0.1)
        shown = json.dumps(result['drift'])
        assert result['drift'] and 'TOPSECRET' not in shown and 'ORGSECRET' not in shown and 'ORG2' not in shown


def test_a_record_nested_too_deeply_is_refused_by_name(tmp_path, certificate_pem):
    project, org = deployed(tmp_path, certificate_pem)
    deep = ET.fromstring(('<ExternalClientApplication xmlns="%s">' % NS) + '<a>' * 60 + '</a>' * 60 + '<label>x</label>'
                         '</ExternalClientApplication>')
    org.components[('ExternalClientApplication', 'SfjwtApp')] = deep
    client, http = client_for(org)
    with pytest.raises(ApiError) as caught:
        deploy.run(client, project)
    assert 'nested more than 50 levels deep' in str(caught.value)
