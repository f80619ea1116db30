# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The SOAP Metadata API: POST /services/Soap/m/NN.0[/<org id>] (what the Salesforce CLI deploys through by default).

As documented in the Metadata API Developer Guide (https://developer.salesforce.com/docs/atlas.en-us.api_meta.meta/api_meta/,
"deploy()", "checkDeployStatus()", "cancelDeploy()", "readMetadata()", "listMetadata()", the result objects DeployResult,
ReadResult, FileProperties) and the metadata WSDL. A SOAP 1.1 envelope (namespace
http://schemas.xmlsoap.org/soap/envelope/), a SOAPAction header (its value is not read: Salesforce sends ""), and the
session in <SessionHeader><sessionId> (namespace http://soap.sforce.com/2006/04/metadata): the access tokens the REST
API accepts. Each call is one API call (org.api_calls(): ('POST', '/Soap/m/<operation>')). Only an admin may use it.

  deploy(ZipFile (base64), DeployOptions)   -> AsyncResult {done false, id 0Af..., state Queued}
  checkDeployStatus(asyncProcessId, includeDetails) -> DeployResult (the REST deployResult's fields in WSDL order,
                                               null fields left out, booleans true/false, dates xsd:dateTime in UTC;
                                               details: componentSuccesses, componentFailures, runTestResult)
  cancelDeploy(String)                      -> CancelDeployResult {done false, id} (the id also taken as <id>, as the
                                               Salesforce CLI sends it)
  readMetadata(type, fullNames (at most 10)) -> ReadResult: one <records xsi:type="<type>"> per name, in order: fullName,
                                               then the component's fields as the org holds them (the element names
                                               and text of the deployed XML, a generated consumerKey) in WSDL order,
                                               repeated elements in their deployed order; a name the org does not
                                               have gives an empty <records xsi:type="<type>"/>, not an error
                                               (Salesforce's behaviour).
  listMetadata(queries (at most 3), asOfVersion) -> FileProperties[] of each saved component of the queried types.

deploy() and the REST deployRequest share one engine (deploy.py): a deploy started over SOAP is read over REST and
the other way round; polls of either drive it; readMetadata returns what either saved, and changes made with
FakeOrg.change_component (someone in Setup).

ExtlClntAppGlobalOauthSettings: consumerKey and certificate are returned as the org holds them (a generated key when
the deploy left it out); without org.allow_oauth_secrets_via_metadata ("Allow Access to OAuth Consumer Secrets via
Metadata API", the type's Special Access Rules) consumerKey and consumerSecret are left out. A consumerSecret is
returned only when a deploy set one: the fake org issues none of its own. ApexClass / ApexTrigger records have no
body (the fake keeps only its digest).

Failures are SOAP faults, HTTP 500, text/xml:
  session missing, unknown or ended   sf:INVALID_SESSION_ID "Invalid Session ID found in SessionHeader: Illegal Session"
  not an admin                        sf:INSUFFICIENT_ACCESS
  unknown API version in the path     sf:UNSUPPORTED_API_VERSION
  unknown deploy id                   sf:INVALID_CROSS_REFERENCE_KEY "invalid cross reference id"
  cancelDeploy of a finished deploy   sf:INVALID_ID_FIELD
  unknown metadata type               sf:INVALID_TYPE "This type of metadata is not available for this organization"
  more than 10 fullNames / 3 queries  sf:EXCEEDED_ID_LIMIT / sf:INVALID_OPERATION (the limits are documented, the codes
                                      are this fake's choice)
  not an envelope, no SOAPAction, an unknown operation, a bad value   soapenv:Client (Axis's own wording where known:
                                      "No operation available for request {ns}name, please check the WSDL for the service.")
org.expire_session_next(path_prefix='/services/Soap/m/') ends the session of the envelope's SessionHeader.
sf: faults carry <detail><sf:UnexpectedErrorFault> with sf:exceptionCode and sf:exceptionMessage, as Salesforce's do.
"""

from __future__ import annotations

import base64
import binascii
import re
import xml.etree.ElementTree as ET

from . import deploy
from .ids import PERMISSION_SET_ID_PREFIX, stable_id
from .messages import RestError, Response
from .metadata import ECA_GLOBAL_OAUTH, NAMESPACE, PERMISSION_SET, TYPES, component_path
from .rest import versions

PREFIX = '/services/Soap/m/'
SOAP_ENV = 'http://schemas.xmlsoap.org/soap/envelope/'
XSI = 'http://www.w3.org/2001/XMLSchema-instance'
XML_TYPE = 'text/xml;charset=UTF-8'
READ_LIMIT = 10
LIST_QUERY_LIMIT = 3
INVALID_SESSION = 'Invalid Session ID found in SessionHeader: Illegal Session'
UNKNOWN_DEPLOY = 'invalid cross reference id'
NOT_AVAILABLE = 'This type of metadata is not available for this organization'
NEVER = '1970-01-01T00:00:00.000Z'   # what Salesforce's listMetadata gives components it has no dates for

_PATH = re.compile(r'^/services/Soap/m/(?P<version>\d+\.\d)(?:/00D[0-9A-Za-z]{12,15})?/?$')
_TRUE, _FALSE = ('true', '1'), ('false', '0')   # xsd:boolean
# Fields never returned by readMetadata: the fake's own bookkeeping.
_INTERNAL_FIELDS = ('body_sha256',)
_SECRET_FIELDS = ('consumerKey', 'consumerSecret')


class Fault(Exception):
    """A SOAP fault: faultcode (sf:CODE or soapenv:Client) and the message."""

    def __init__(self, code: str, message: str):
        super().__init__('%s: %s' % (code, message))
        self.code = code
        self.message = message

    def response(self) -> Response:
        envelope = ET.Element('soapenv:Envelope', {'xmlns:soapenv': SOAP_ENV, 'xmlns:sf': NAMESPACE, 'xmlns:xsi': XSI})
        fault = ET.SubElement(ET.SubElement(envelope, 'soapenv:Body'), 'soapenv:Fault')
        ET.SubElement(fault, 'faultcode').text = self.code
        if self.code.startswith('sf:'):
            exception_code = self.code[3:]
            ET.SubElement(fault, 'faultstring').text = '%s: %s' % (exception_code, self.message)
            detail = ET.SubElement(ET.SubElement(fault, 'detail'), 'sf:UnexpectedErrorFault', {'xsi:type': 'sf:UnexpectedErrorFault'})
            ET.SubElement(detail, 'sf:exceptionCode').text = exception_code
            ET.SubElement(detail, 'sf:exceptionMessage').text = self.message
        else:
            ET.SubElement(fault, 'faultstring').text = self.message
        return Response(500, _document(envelope), XML_TYPE)


def handle(org, request) -> Response:
    """Answer a request whose path starts with /services/Soap/m/."""
    match = _PATH.match(request.path)
    if match is None:
        return Response(404, b'', None)
    if request.method != 'POST':
        return Response(405, b'', None, {'Allow': 'POST'})
    try:
        return _call(org, request, match.group('version'))
    except Fault as fault:
        return fault.response()


def session_id(request) -> str | None:
    """The envelope's <SessionHeader><sessionId>, or None (what expire_session_next ends for a SOAP call)."""
    if b'<!DOCTYPE' in request.body:
        return None
    try:
        envelope = ET.fromstring(request.body)
    except ET.ParseError:
        return None
    found = envelope.findtext('%s/%s/%s' % (_q(SOAP_ENV, 'Header'), _q(NAMESPACE, 'SessionHeader'), _q(NAMESPACE, 'sessionId')))
    return found.strip() if found else None


def _call(org, request, version: str) -> Response:
    if request.header('SOAPAction') is None:
        raise Fault('soapenv:Client', 'no SOAPAction header!')
    if b'<!DOCTYPE' in request.body:   # no entities, as the metadata files (metadata.py)
        raise Fault('soapenv:Client', 'A SOAP request may not contain a DOCTYPE')
    try:
        envelope = ET.fromstring(request.body)
    except ET.ParseError as exc:
        raise Fault('soapenv:Client', 'Unable to parse the request: %s' % exc)
    body = envelope.find(_q(SOAP_ENV, 'Body'))
    if envelope.tag != _q(SOAP_ENV, 'Envelope') or body is None or len(body) == 0:
        raise Fault('soapenv:Client', 'The request is not a SOAP 1.1 envelope with a Body')
    operation = body[0]
    namespace, name = _split(operation.tag)
    handler = _OPERATIONS.get(name) if namespace == NAMESPACE else None
    if handler is None:
        raise Fault('soapenv:Client', 'No operation available for request {%s}%s, please check the WSDL for the service.' % (namespace, name))
    if version not in {entry['version'] for entry in versions()}:
        raise Fault('sf:UNSUPPORTED_API_VERSION', 'Invalid Api version specified on URL')
    session = org.session_for(session_id(request))
    if session is None:
        raise Fault('sf:INVALID_SESSION_ID', INVALID_SESSION)
    org.data.count_api_call('POST', '/Soap/m/' + name)
    try:
        user = deploy.deployer(org, session['username'])
    except deploy.DeployProblem as problem:
        raise Fault('sf:' + problem.code, problem.message)
    result = handler(org, operation, user)
    envelope = ET.Element('soapenv:Envelope', {'xmlns:soapenv': SOAP_ENV, 'xmlns': NAMESPACE, 'xmlns:xsi': XSI})
    ET.SubElement(envelope, 'soapenv:Body').append(result)
    return Response(200, _document(envelope), XML_TYPE)


# -- operations (each returns its <operationResponse> element) ------------------------------------------------------


def _deploy(org, operation, user):
    try:
        zip_bytes = base64.b64decode(''.join((_child_text(operation, 'ZipFile') or '').split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise Fault('soapenv:Client', 'ZipFile is not valid base64Binary: %s' % exc)
    received = _deploy_options(operation.find(_q(NAMESPACE, 'DeployOptions')))
    try:
        options = deploy.deploy_options(received)
    except RestError as exc:
        raise Fault('soapenv:Client', exc.message)
    try:
        deployment = deploy.create(org, user, received, options, zip_bytes)
    except deploy.DeployProblem as problem:
        raise Fault('soapenv:Client', 'ZipFile is not a readable zip file: %s' % problem.message)
    return _response('deploy', [{'done': False, 'id': deployment.id, 'state': 'Queued'}])


def _deploy_options(element) -> dict:
    """DeployOptions as the REST json part would carry them (only what was sent)."""
    received = {}
    for child in (element if element is not None else ()):
        _namespace, name = _split(child.tag)
        text = (child.text or '').strip()
        if child.get(_q(XSI, 'nil')) in _TRUE:   # what jsforce writes for a null option: as if not sent
            continue
        if name == 'runTests':
            received.setdefault('runTests', []).append(text)
        elif name == 'testLevel':
            if text not in deploy.TEST_LEVELS:
                raise Fault('soapenv:Client', "'%s' is not a valid value for the enum 'TestLevel'" % text)
            received['testLevel'] = text
        elif name == 'runAllTests':   # deprecated in favour of testLevel
            if _boolean(name, text) and 'testLevel' not in received:
                received['testLevel'] = 'RunAllTestsInOrg'
        elif isinstance(deploy.OPTION_DEFAULTS.get(name), bool):
            received[name] = _boolean(name, text)
        else:
            raise Fault('soapenv:Client', 'Unexpected element {%s}%s during simple type deserialization' % (NAMESPACE, name))
    return received


def _check_deploy_status(org, operation, _user):
    details = _boolean('includeDetails', _child_text(operation, 'includeDetails') or 'false')
    with org.deploys.lock:
        deployment = _deployment(org, _child_text(operation, 'asyncProcessId'))
        deploy.advance(org, deployment)
        result = deployment.result(details)
    if details:
        tests = result['details'].pop('runTestResults')
        result['details']['runTestResult'] = {'numFailures': tests['numFailures'], 'numTestsRun': tests['numRun'], 'totalTime': 0.0}
    return _response('checkDeployStatus', [result])


def _cancel_deploy(org, operation, _user):
    with org.deploys.lock:
        # The WSDL names the parameter String; the Salesforce CLI (source-deploy-retrieve) sends it as <id>.
        deployment = _deployment(org, _child_text(operation, 'String') or _child_text(operation, 'id'))
        try:
            deploy.cancel(org, deployment)
        except deploy.DeployProblem as problem:
            raise Fault('sf:' + problem.code, problem.message)
        return _response('cancelDeploy', [{'done': False, 'id': deployment.id}])


def _read_metadata(org, operation, _user):
    type_name = _metadata_type(_child_text(operation, 'type'))
    names = [(child.text or '').strip() for child in operation.findall(_q(NAMESPACE, 'fullNames'))]
    if len(names) > READ_LIMIT:
        raise Fault('sf:EXCEEDED_ID_LIMIT', 'readMetadata takes at most %d fullNames; %d were given' % (READ_LIMIT, len(names)))
    response = ET.Element('readMetadataResponse')
    result = ET.SubElement(response, 'result')
    for name in names:
        record = ET.SubElement(result, 'records', {'xsi:type': type_name})
        fields = _component(org, type_name, name)
        if fields is None:
            continue   # Salesforce answers a name it does not have with an empty record, not an error
        ET.SubElement(record, 'fullName').text = name   # inherited from Metadata: first
        for key in sorted(fields):
            _append(record, key, fields[key], as_deployed=True)
    return response


def _list_metadata(org, operation, _user):
    queries = operation.findall(_q(NAMESPACE, 'queries'))
    if len(queries) > LIST_QUERY_LIMIT:
        raise Fault('sf:INVALID_OPERATION', 'listMetadata takes at most %d queries; %d were given' % (LIST_QUERY_LIMIT, len(queries)))
    results = []
    for query in queries:
        type_name = _metadata_type(_child_text(query, 'type'))
        for name in sorted(_names(org, type_name)):
            results.append(_file_properties(org, type_name, name))
    return _response('listMetadata', results)


_OPERATIONS = {'deploy': _deploy, 'checkDeployStatus': _check_deploy_status, 'cancelDeploy': _cancel_deploy,
               'readMetadata': _read_metadata, 'listMetadata': _list_metadata}


# -- the org's components ------------------------------------------------------------------------------------------


def _component(org, type_name: str, name: str) -> dict | None:
    """The fields readMetadata returns (without fullName), or None when the org has no such component."""
    fields = org.app_registry.component(type_name, name)
    if fields is None and type_name == PERMISSION_SET:   # made in the org (add_user), not deployed
        record = next(iter(org.data.objects['PermissionSet'].find(Name=name)), None)
        if record is None:
            return None
        fields = {'description': record.get('Description'), 'label': record.get('Label')}
    if fields is None:
        return None
    fields = {key: value for key, value in fields.items() if key not in _INTERNAL_FIELDS and value is not None}
    if type_name == ECA_GLOBAL_OAUTH and not org.allow_oauth_secrets_via_metadata:
        fields = {key: value for key, value in fields.items() if key not in _SECRET_FIELDS}
    return fields


def _names(org, type_name: str) -> set:
    names = set(org.app_registry.names(type_name))
    if type_name == PERMISSION_SET:
        names |= org.data.permission_set_names()
    return names


def _file_properties(org, type_name: str, name: str) -> dict:
    saved = org.deploys.provenance(type_name, name) or {}
    if type_name == PERMISSION_SET:
        component_id = stable_id(PERMISSION_SET_ID_PREFIX, 'PermissionSet:' + name)
    else:   # the key prefixes of these setup entities are not documented: a stable id of the fake's own
        component_id = stable_id('000', '%s:%s' % (type_name, name))
    return {'createdById': saved.get('createdById', ''), 'createdByName': saved.get('createdByName', ''),
            'createdDate': _date(saved.get('created')), 'fileName': component_path(TYPES[type_name], name), 'fullName': name,
            'id': component_id, 'lastModifiedById': saved.get('lastModifiedById', ''),
            'lastModifiedByName': saved.get('lastModifiedByName', ''), 'lastModifiedDate': _date(saved.get('lastModified')),
            'manageableState': 'unmanaged', 'type': type_name}


def _deployment(org, deploy_id):
    deployment = org.deploys.get((deploy_id or '').strip())
    if deployment is None:
        raise Fault('sf:INVALID_CROSS_REFERENCE_KEY', UNKNOWN_DEPLOY)
    return deployment


def _metadata_type(name) -> str:
    name = (name or '').strip()
    if name not in TYPES:
        raise Fault('sf:INVALID_TYPE', NOT_AVAILABLE)
    return name


# -- XML ---------------------------------------------------------------------------------------------------------


def _q(namespace: str, name: str) -> str:
    return '{%s}%s' % (namespace, name)


def _split(tag: str) -> tuple:
    if tag.startswith('{'):
        namespace, _sep, name = tag[1:].partition('}')
        return namespace, name
    return '', tag


def _child_text(element, name: str):
    return element.findtext(_q(NAMESPACE, name))


def _boolean(name: str, text: str) -> bool:
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise Fault('soapenv:Client', "'%s' is not a valid value for the type xsd:boolean (%s)" % (text, name))


def _response(operation: str, results: list):
    response = ET.Element(operation + 'Response')
    for result in results:
        _append(response, 'result', result)
    return response


def _append(parent, name: str, value, as_deployed: bool = False) -> None:
    """value as SOAP writes it: a dict as an element of its fields in WSDL order (the metadata WSDL's sequences are
    alphabetical), a list as repeated elements in their order, None left out, booleans true/false, REST's dates as
    xsd:dateTime. as_deployed: a component's fields, whose text is kept as deployed."""
    if value is None:
        return
    if isinstance(value, list):
        for item in value:
            _append(parent, name, item, as_deployed)
        return
    element = ET.SubElement(parent, name)
    if isinstance(value, dict):
        for key in sorted(value):
            _append(element, key, value[key], as_deployed)
    elif isinstance(value, bool):
        element.text = 'true' if value else 'false'
    elif not as_deployed and isinstance(value, str) and re.fullmatch(r'\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000', value):
        element.text = value[:-5] + 'Z'
    else:
        element.text = str(value)


def _date(moment) -> str:
    stamp = deploy.timestamp(moment)
    return stamp[:-5] + 'Z' if stamp else NEVER


def _document(envelope) -> bytes:
    return b'<?xml version="1.0" encoding="UTF-8"?>' + ET.tostring(envelope, encoding='unicode').encode('utf-8')
