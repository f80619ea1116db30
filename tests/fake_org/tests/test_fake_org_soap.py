# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The fake org's SOAP Metadata API (/services/Soap/m/NN.0), its one deploy engine shared with REST deployRequest,
and FakeOrg.change_component (a drift made in Setup)."""

from __future__ import annotations

import base64
import json
import re

import pytest
import requests

from test_fake_org import (API, DEPLOYED_CERT_PEM, DEPLOYED_CONSUMER_KEY, ROTATED_CERT_PEM, call, connected_app_file, eca_files,
                           integration_assertion, login, make_zip,
                           permission_set_file, poll, post_token, start_deploy)

SOAP_PATH = '/services/Soap/m/62.0'
HEAD = ('<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns="http://soap.sforce.com/2006/04/metadata" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>')
TAIL = '</soapenv:Body></soapenv:Envelope>'
FAULT_HEAD = ('<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
              'xmlns:sf="http://soap.sforce.com/2006/04/metadata" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
              '<soapenv:Body><soapenv:Fault>')
FAULT_TAIL = '</soapenv:Fault></soapenv:Body></soapenv:Envelope>'
STAMP = re.compile(r'\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z')


def envelope(session_id, body: str) -> str:
    """A request as jsforce sends it: the session in the SessionHeader, the operation in the Body."""
    header = ('<soapenv:Header><SessionHeader xmlns="http://soap.sforce.com/2006/04/metadata"><sessionId>%s</sessionId>'
              '</SessionHeader></soapenv:Header>' % session_id) if session_id is not None else ''
    return ('<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">%s<soapenv:Body>%s</soapenv:Body></soapenv:Envelope>' % (header, body))


def soap(org, session_id, body, path=SOAP_PATH, headers=None):
    sent = {'Content-Type': 'text/xml; charset=UTF-8', 'SOAPAction': '""'} if headers is None else headers
    return requests.post(org.url + path, data=envelope(session_id, body).encode('utf-8'), headers=sent, verify=org.ca_path, timeout=10)


def md(operation, inner=''):
    return '<%s xmlns="http://soap.sforce.com/2006/04/metadata">%s</%s>' % (operation, inner, operation)


def soap_deploy(org, token, zip_bytes, options='<rollbackOnError>true</rollbackOnError><singlePackage>true</singlePackage>'):
    response = soap(org, token, md('deploy', '<ZipFile>%s</ZipFile><DeployOptions>%s</DeployOptions>'
                                   % (base64.b64encode(zip_bytes).decode(), options)))
    assert response.status_code == 200, response.text
    deploy_id = re.search(r'<id>(0Af\w{15})</id>', response.text).group(1)
    return response, deploy_id


def check_status(org, token, deploy_id, details=True):
    response = soap(org, token, md('checkDeployStatus', '<asyncProcessId>%s</asyncProcessId><includeDetails>%s</includeDetails>'
                                   % (deploy_id, 'true' if details else 'false')))
    assert response.status_code == 200, response.text
    return STAMP.sub('<DATE>', response.text)


def read(org, token, type_name, *names):
    response = soap(org, token, md('readMetadata', '<type>%s</type>%s' % (type_name, ''.join('<fullNames>%s</fullNames>' % n for n in names))))
    assert response.status_code == 200, response.text
    return response.text


def fault(code, message):
    exception = code.split(':', 1)[1]
    return (FAULT_HEAD + '<faultcode>%s</faultcode><faultstring>%s: %s</faultstring><detail><sf:UnexpectedErrorFault '
            'xsi:type="sf:UnexpectedErrorFault"><sf:exceptionCode>%s</sf:exceptionCode><sf:exceptionMessage>%s</sf:exceptionMessage>'
            '</sf:UnexpectedErrorFault></detail>' % (code, exception, message, exception, message) + FAULT_TAIL)


def client_fault(message):
    return FAULT_HEAD + '<faultcode>soapenv:Client</faultcode><faultstring>%s</faultstring>' % message + FAULT_TAIL


def test_deploy_over_soap_check_status_with_details_and_read_it_over_rest(fake_org_admin):
    org = fake_org_admin.org
    token = login(fake_org_admin)['access_token']
    response, deploy_id = soap_deploy(org, token, make_zip(permission_set_file()), '<checkOnly>false</checkOnly><rollbackOnError>true'
                                      '</rollbackOnError><singlePackage>true</singlePackage><testLevel xsi:nil="true"/>')

    assert response.headers['Content-Type'] == 'text/xml;charset=UTF-8'
    assert response.text == HEAD + ('<deployResponse><result><done>false</done><id>%s</id><state>Queued</state></result>'
                                    '</deployResponse>' % deploy_id) + TAIL
    assert check_status(org, token, deploy_id, details=False) == HEAD + (
        '<checkDeployStatusResponse><result><checkOnly>false</checkOnly><createdBy>%s</createdBy><createdByName>admin</createdByName>'
        '<createdDate><DATE></createdDate><done>false</done><id>%s</id><ignoreWarnings>false</ignoreWarnings>'
        '<lastModifiedDate><DATE></lastModifiedDate><numberComponentErrors>0</numberComponentErrors>'
        '<numberComponentsDeployed>0</numberComponentsDeployed><numberComponentsTotal>0</numberComponentsTotal>'
        '<numberTestErrors>0</numberTestErrors><numberTestsCompleted>0</numberTestsCompleted><numberTestsTotal>0</numberTestsTotal>'
        '<rollbackOnError>true</rollbackOnError><runTestsEnabled>false</runTestsEnabled><startDate><DATE></startDate>'
        '<status>InProgress</status><success>false</success></result></checkDeployStatusResponse>'
        % (org.find_user('admin@example.com').user_id, deploy_id)) + TAIL
    final = check_status(org, token, deploy_id)
    assert final == HEAD + (
        '<checkDeployStatusResponse><result><checkOnly>false</checkOnly><completedDate><DATE></completedDate><createdBy>%s</createdBy>'
        '<createdByName>admin</createdByName><createdDate><DATE></createdDate><details>'
        '<componentSuccesses><changed>true</changed><componentType /><created>false</created><createdDate><DATE></createdDate>'
        '<deleted>false</deleted><fileName>package.xml</fileName><fullName>package.xml</fullName><success>true</success>'
        '</componentSuccesses>'
        '<componentSuccesses><changed>false</changed><componentType>PermissionSet</componentType><created>true</created>'
        '<createdDate><DATE></createdDate><deleted>false</deleted><fileName>permissionsets/SFJWT_Deployed.permissionset</fileName>'
        '<fullName>SFJWT_Deployed</fullName><id>%s</id><success>true</success></componentSuccesses>'
        '<runTestResult><numFailures>0</numFailures><numTestsRun>0</numTestsRun><totalTime>0.0</totalTime></runTestResult></details>'
        '<done>true</done><id>%s</id><ignoreWarnings>false</ignoreWarnings><lastModifiedDate><DATE></lastModifiedDate>'
        '<numberComponentErrors>0</numberComponentErrors><numberComponentsDeployed>1</numberComponentsDeployed>'
        '<numberComponentsTotal>1</numberComponentsTotal><numberTestErrors>0</numberTestErrors><numberTestsCompleted>0</numberTestsCompleted>'
        '<numberTestsTotal>0</numberTestsTotal><rollbackOnError>true</rollbackOnError><runTestsEnabled>false</runTestsEnabled>'
        '<startDate><DATE></startDate><status>Succeeded</status><success>true</success></result></checkDeployStatusResponse>'
        % (org.find_user('admin@example.com').user_id, org.records('PermissionSet')[-1]['Id'], deploy_id)) + TAIL

    rest = poll(org, token, deploy_id)   # the same deploy, over REST
    assert (rest['id'], rest['deployResult']['status'], rest['deployOptions']['singlePackage']) == (deploy_id, 'Succeeded', True)
    assert org.deploy_log()[0]['deployOptions'] == {'checkOnly': False, 'rollbackOnError': True, 'singlePackage': True}
    assert org.api_calls()[('POST', '/Soap/m/checkDeployStatus')] == 2


def test_a_rest_deploy_is_read_over_soap_and_read_metadata_returns_what_it_saved(fake_org_admin):
    org = fake_org_admin.org
    token = login(fake_org_admin)['access_token']
    files = {**eca_files(), **permission_set_file()}
    parts = {'entity_content': (None, json.dumps({'deployOptions': {'singlePackage': True}}), 'application/json'),
             'file': ('deploy.zip', make_zip(files), 'application/zip')}   # the part names jsforce sends
    started = call(org, API + '/metadata/deployRequest', token, 'POST', files=parts)
    assert started.status_code == 201, started.text
    deploy_id = started.json()['id']
    assert '<status>InProgress</status>' in check_status(org, token, deploy_id, details=False)
    assert '<status>Succeeded</status>' in check_status(org, token, deploy_id, details=False)

    assert read(org, token, 'ExtlClntAppOauthConfigurablePolicies', 'Acme_oauthPlcy', 'Missing') == HEAD + (
        '<readMetadataResponse><result><records xsi:type="ExtlClntAppOauthConfigurablePolicies"><fullName>Acme_oauthPlcy</fullName>'
        '<commaSeparatedPermissionSet>SFJWT_Deployed</commaSeparatedPermissionSet><externalClientApplication>Acme</externalClientApplication>'
        '<ipRelaxationPolicyType>Enforce</ipRelaxationPolicyType><label>Acme</label>'
        '<permittedUsersPolicyType>AdminApprovedPreAuthorized</permittedUsersPolicyType></records>'
        '<records xsi:type="ExtlClntAppOauthConfigurablePolicies" /></result></readMetadataResponse>') + TAIL
    certificate = DEPLOYED_CERT_PEM.decode().strip()
    assert read(org, token, 'ExtlClntAppGlobalOauthSettings', 'Acme_glbloauth') == HEAD + (
        '<readMetadataResponse><result><records xsi:type="ExtlClntAppGlobalOauthSettings"><fullName>Acme_glbloauth</fullName>'
        '<callbackUrl>https://login.salesforce.com/services/oauth2/success</callbackUrl><certificate>%s</certificate>'
        '<consumerKey>%s</consumerKey><externalClientApplication>Acme</externalClientApplication><label>Acme</label></records>'
        '</result></readMetadataResponse>' % (certificate, DEPLOYED_CONSUMER_KEY)) + TAIL
    assert read(org, token, 'PermissionSet', 'SFJWT_Deployed') == HEAD + (
        '<readMetadataResponse><result><records xsi:type="PermissionSet"><fullName>SFJWT_Deployed</fullName>'
        '<description>made by a deploy</description><label>SFJWT Deployed</label></records></result></readMetadataResponse>') + TAIL

    org.allow_oauth_secrets_via_metadata = False   # the type's Special Access Rules: no consumer key without it
    assert '<consumerKey>' not in read(org, token, 'ExtlClntAppGlobalOauthSettings', 'Acme_glbloauth')


def test_list_metadata_gives_file_properties(fake_org_admin):
    org = fake_org_admin.org
    token = login(fake_org_admin)['access_token']
    _response, deploy_id = soap_deploy(org, token, make_zip(permission_set_file()))
    check_status(org, token, deploy_id)
    check_status(org, token, deploy_id)
    response = soap(org, token, md('listMetadata', '<queries><type>PermissionSet</type></queries><asOfVersion>62.0</asOfVersion>'))
    admin = org.find_user('admin@example.com')

    assert STAMP.sub('<DATE>', response.text) == HEAD + (
        '<listMetadataResponse><result><createdById>%s</createdById><createdByName>admin</createdByName><createdDate><DATE></createdDate>'
        '<fileName>permissionsets/SFJWT_Deployed.permissionset</fileName><fullName>SFJWT_Deployed</fullName><id>%s</id>'
        '<lastModifiedById>%s</lastModifiedById><lastModifiedByName>admin</lastModifiedByName><lastModifiedDate><DATE></lastModifiedDate>'
        '<manageableState>unmanaged</manageableState><type>PermissionSet</type></result></listMetadataResponse>'
        % (admin.user_id, org.records('PermissionSet')[-1]['Id'], admin.user_id)) + TAIL
    empty = soap(org, token, md('listMetadata', '<queries><type>ExternalClientApplication</type></queries>'))
    assert empty.text == HEAD + '<listMetadataResponse />' + TAIL


def test_cancel_deploy_over_soap(fake_org_admin):
    org = fake_org_admin.org
    org.hold_deploys = True
    token = login(fake_org_admin)['access_token']
    _response, deploy_id = soap_deploy(org, token, make_zip(permission_set_file()))

    canceling = soap(org, token, md('cancelDeploy', '<String>%s</String>' % deploy_id))
    assert canceling.text == HEAD + '<cancelDeployResponse><result><done>false</done><id>%s</id></result></cancelDeployResponse>' % deploy_id + TAIL
    assert '<status>Canceling</status>' in check_status(org, token, deploy_id, details=False)
    assert '<status>Canceled</status>' in check_status(org, token, deploy_id, details=False)
    again = soap(org, token, md('cancelDeploy', '<id>%s</id>' % deploy_id))   # the Salesforce CLI's element name
    message = 'Deployment %s has already completed (Canceled) and cannot be canceled' % deploy_id
    assert (again.status_code, again.text) == (500, fault('sf:INVALID_ID_FIELD', message))
    assert org.data.permission_set_names() == set()


def test_change_component_is_a_drift_read_back_and_put_back_by_a_deploy(fake_org_admin):
    org = fake_org_admin.org
    org.add_user('integration@example.com')
    token = login(fake_org_admin)['access_token']
    files = {**eca_files(), **permission_set_file()}
    _response, deploy_id = soap_deploy(org, token, make_zip(files))
    check_status(org, token, deploy_id)
    check_status(org, token, deploy_id)
    org.assign_permission_set('integration@example.com', 'SFJWT_Deployed')
    assert post_token(org, integration_assertion(org)).status_code == 200   # pre-authorized through the permission set

    changed = org.change_component('ExtlClntAppOauthConfigurablePolicies', 'Acme_oauthPlcy', changed_by='admin@example.com',
                                   permittedUsersPolicyType='AllSelfAuthorized')
    assert changed['permittedUsersPolicyType'] == 'AllSelfAuthorized'
    assert '<permittedUsersPolicyType>AllSelfAuthorized</permittedUsersPolicyType>' in read(
        org, token, 'ExtlClntAppOauthConfigurablePolicies', 'Acme_oauthPlcy')
    # the token endpoint follows, as after a change in Setup: self-authorized wants an approval the JWT flow cannot give
    assert post_token(org, integration_assertion(org)).json() == {'error': 'invalid_grant', 'error_description': "user hasn't approved this consumer"}

    _response, deploy_id = soap_deploy(org, token, make_zip(files))   # the project deployed again puts it back
    check_status(org, token, deploy_id)
    final = check_status(org, token, deploy_id)
    assert ('<changed>true</changed><componentType>ExtlClntAppOauthConfigurablePolicies</componentType><created>false</created>'
            in final)
    assert '<permittedUsersPolicyType>AdminApprovedPreAuthorized</permittedUsersPolicyType>' in read(
        org, token, 'ExtlClntAppOauthConfigurablePolicies', 'Acme_oauthPlcy')
    assert post_token(org, integration_assertion(org)).status_code == 200
    with pytest.raises(KeyError):
        org.change_component('ExternalClientApplication', 'Nobody', label='x')


@pytest.mark.parametrize('send, expected', [
    (lambda org, token: soap(org, 'not-a-session', md('readMetadata', '<type>PermissionSet</type>')),
     fault('sf:INVALID_SESSION_ID', 'Invalid Session ID found in SessionHeader: Illegal Session')),
    (lambda org, token: soap(org, None, md('listMetadata')),
     fault('sf:INVALID_SESSION_ID', 'Invalid Session ID found in SessionHeader: Illegal Session')),
    (lambda org, token: soap(org, token, md('describeEverything')),
     client_fault('No operation available for request {http://soap.sforce.com/2006/04/metadata}describeEverything, '
                  'please check the WSDL for the service.')),
    (lambda org, token: soap(org, token, md('readMetadata'), headers={'Content-Type': 'text/xml'}), client_fault('no SOAPAction header!')),
    (lambda org, token: soap(org, token, md('readMetadata', '<type>Nonsense</type><fullNames>A</fullNames>')),
     fault('sf:INVALID_TYPE', 'This type of metadata is not available for this organization')),
    (lambda org, token: soap(org, token, md('readMetadata', '<type>PermissionSet</type>' + '<fullNames>A</fullNames>' * 11)),
     fault('sf:EXCEEDED_ID_LIMIT', 'readMetadata takes at most 10 fullNames; 11 were given')),
    (lambda org, token: soap(org, token, md('checkDeployStatus', '<asyncProcessId>0Af000000000001AAA</asyncProcessId>')),
     fault('sf:INVALID_CROSS_REFERENCE_KEY', 'invalid cross reference id')),
    (lambda org, token: soap(org, token, md('deploy', '<ZipFile>%s</ZipFile><DeployOptions><checkOnly>yes</checkOnly></DeployOptions>'
                                            % base64.b64encode(make_zip({})).decode())),
     client_fault("'yes' is not a valid value for the type xsd:boolean (checkOnly)")),
    (lambda org, token: soap(org, token, md('listMetadata'), path='/services/Soap/m/99.0'),
     fault('sf:UNSUPPORTED_API_VERSION', 'Invalid Api version specified on URL')),
], ids=['unknown-session', 'no-session-header', 'unknown-operation', 'no-soapaction', 'unknown-type', 'eleven-names', 'unknown-deploy',
        'bad-boolean', 'unknown-version'])
def test_soap_faults(fake_org_admin, send, expected):
    response = send(fake_org_admin.org, login(fake_org_admin)['access_token'])
    assert (response.status_code, response.headers['Content-Type'], response.text) == (500, 'text/xml;charset=UTF-8', expected)
    assert fake_org_admin.org.deploy_log() == []


def test_soap_needs_an_admin(fake_org_app):
    token = login(fake_org_app)['access_token']
    response = soap(fake_org_app.org, token, md('listMetadata', '<queries><type>PermissionSet</type></queries>'))
    assert response.status_code == 500
    assert response.text.startswith(FAULT_HEAD + '<faultcode>sf:INSUFFICIENT_ACCESS</faultcode>')


def test_rest_deploy_request_takes_entity_content_or_json_not_both(fake_org_admin):
    org = fake_org_admin.org
    token = login(fake_org_admin)['access_token']
    options = (None, json.dumps({'deployOptions': {}}), 'application/json')
    both = call(org, API + '/metadata/deployRequest', token, 'POST',
                files={'json': options, 'entity_content': options, 'file': ('deploy.zip', make_zip(permission_set_file()), 'application/zip')})
    assert (both.status_code, both.json()) == (400, [{'errorCode': 'INVALID_MULTIPART_REQUEST', 'message': (
        "Invalid multipart request: the deploy options are sent twice (parts 'json' and 'entity_content')")}])
    assert start_deploy(org, token, make_zip(permission_set_file())).status_code == 201   # `json` still works


def test_read_metadata_gives_nested_fields_in_wsdl_order_with_the_key_the_org_kept(fake_org_admin):
    org = fake_org_admin.org
    org.add_connected_app('Legacy', 'SFJWTLEGACYAPP0001', DEPLOYED_CERT_PEM, permission_sets=['SFJWT_Deployed'])
    token = login(fake_org_admin)['access_token']
    _response, deploy_id = soap_deploy(org, token, make_zip(connected_app_file('Legacy')))
    check_status(org, token, deploy_id)
    assert '<status>Succeeded</status>' in check_status(org, token, deploy_id)

    assert read(org, token, 'ConnectedApp', 'Legacy') == HEAD + (
        '<readMetadataResponse><result><records xsi:type="ConnectedApp"><fullName>Legacy</fullName>'
        '<contactEmail>admin@example.com</contactEmail><label>Legacy</label><oauthConfig>'
        '<callbackUrl>https://login.salesforce.com/services/oauth2/success</callbackUrl><certificate>%s</certificate>'
        '<consumerKey>SFJWTLEGACYAPP0001</consumerKey><isAdminApproved>true</isAdminApproved><scopes>Api</scopes></oauthConfig>'
        '<permissionSetName>SFJWT_Deployed</permissionSetName></records></result></readMetadataResponse>'
        % ROTATED_CERT_PEM.decode().strip()) + TAIL


def test_admin_api_reads_and_changes_a_component(fake_org_admin):
    org = fake_org_admin.org
    token = login(fake_org_admin)['access_token']
    _response, deploy_id = soap_deploy(org, token, make_zip({**eca_files(), **permission_set_file()}))
    check_status(org, token, deploy_id)
    check_status(org, token, deploy_id)
    admin_url = org.url + '/_fake/components'

    changed = requests.post(admin_url, json={'type': 'ExtlClntAppOauthConfigurablePolicies', 'full_name': 'Acme_oauthPlcy',
                                             'changes': {'permittedUsersPolicyType': 'AllSelfAuthorized', 'ipRelaxationPolicyType': None}},
                            verify=org.ca_path, timeout=10)
    read_back = requests.get(admin_url, params={'type': 'ExtlClntAppOauthConfigurablePolicies', 'full_name': 'Acme_oauthPlcy'},
                             verify=org.ca_path, timeout=10)
    missing = requests.post(admin_url, json={'type': 'ExternalClientApplication', 'full_name': 'Nobody', 'changes': {}},
                            verify=org.ca_path, timeout=10)
    not_text = requests.post(admin_url, json={'type': 'ExternalClientApplication', 'full_name': 'Acme', 'changes': {'isProtected': True}},
                             verify=org.ca_path, timeout=10)

    expected = {'type': 'ExtlClntAppOauthConfigurablePolicies', 'full_name': 'Acme_oauthPlcy', 'fields': {
        'commaSeparatedPermissionSet': 'SFJWT_Deployed', 'externalClientApplication': 'Acme', 'label': 'Acme',
        'permittedUsersPolicyType': 'AllSelfAuthorized'}}
    assert (changed.status_code, changed.json()) == (200, expected)
    assert (read_back.status_code, read_back.json()) == (200, expected)
    assert (missing.status_code, missing.json()) == (404, {'error': 'no component ExternalClientApplication Nobody in the org'})
    assert (not_text.status_code, not_text.json()) == (400, {'error': 'changes.isProtected must be text (e.g. "true"), a list, an object or null'})
    assert org.deployed_component('ExternalClientApplication', 'Acme')['isProtected'] == 'false'


def test_expire_session_next_ends_a_soap_session(fake_org_admin):
    org = fake_org_admin.org
    token = login(fake_org_admin)['access_token']
    _response, deploy_id = soap_deploy(org, token, make_zip(permission_set_file()))
    org.expire_session_next(1, path_prefix='/services/Soap/m/')

    expired = soap(org, token, md('checkDeployStatus', '<asyncProcessId>%s</asyncProcessId>' % deploy_id))
    assert (expired.status_code, expired.text) == (500, fault('sf:INVALID_SESSION_ID', 'Invalid Session ID found in SessionHeader: Illegal Session'))
    assert call(org, API + '/limits', token).status_code == 401   # the session is gone, not just that answer
