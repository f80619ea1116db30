# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module is private to this collection: its API may change without notice.

"""Calls to the Salesforce REST API with a session from the auth core (or a token given directly).

What it adds over a plain HTTP call: the API version ('latest' discovered once per identity and kept
with the cached session), SOQL pagination, one renewal of a session Salesforce rejects as invalid,
and errors that quote Salesforce's errorCode and message. Access tokens never leave this module
other than in the Authorization header.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional
from urllib.parse import urlsplit

from ansible_collections.sfjwt.salesforce.plugins.module_utils.api._rest_paths import PathProblem, normalize_path, path_advice
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._answers import (
    decode_json,
    describe_answer,
    is_json,
    salesforce_errors,
)
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._errors import ApiError, HttpError, InputError
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._http import (
    body_size_text,
    build_http_session,
    send,
)
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._io import InvalidJson, parse_json
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._text import printable
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._salesforce_facts import (
    LATEST,
    ORG_ID_RE,
    id18,
    org_id_from_token,
    format_api_version,
    latest_api_version,
    parse_api_version,
)
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._urls import json_type, url_origin

try:
    from requests import Request
except ImportError:  # reported by _http.HAS_REQUESTS through the module
    Request = None

WRITE_METHODS = ('POST', 'PATCH', 'PUT', 'DELETE')
READ_METHODS = ('GET', 'HEAD')
METHODS = READ_METHODS + WRITE_METHODS
BODY_METHODS = ('POST', 'PATCH', 'PUT')
DEFAULT_STATUS_CODES = (200, 201, 204)
# Status retries are only safe for requests that can be repeated: a POST or PATCH that reached
# Salesforce may have been applied even though the answer was a 5xx. Connection errors are always retried.
IDEMPOTENT_METHODS = frozenset(('GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS'))
# Non-JSON bodies are returned as text up to this many characters (a binary download is not for a result).
MAX_CONTENT_CHARS = 1024 * 1024
# Pages of one query, at most: Salesforce returns up to 2,000 records a page (200 when asked for small batches), so
# this is millions of records; past it a task should page by itself (LIMIT / OFFSET or a WHERE on Id).
MAX_QUERY_PAGES = 10000
LIMIT_INFO_RE = re.compile(r'(?:^|[,;\s])api-usage=(\d+)/(\d+)')


# ---------------------------------------------------------------------------------------------- helpers

def normalize_api_version(value):
    """'latest', or 'NN.N' from 'NN.N' / 'vNN.N'; anything else is refused."""
    if value is None:
        return LATEST
    text = str(value).strip()
    if text.lower() == LATEST:
        return LATEST
    version = parse_api_version(text)
    if version is None:
        raise InputError('api_version %r is not a Salesforce API version: use latest, or the form NN.N '
                         '(for example 62.0).' % (value,))
    return format_api_version(version)


def latest_version(versions_json):
    """The highest version in the answer to GET /services/data/."""
    if not isinstance(versions_json, list):
        return None
    return latest_api_version(entry.get('version') for entry in versions_json if isinstance(entry, dict))


def parse_limit_info(header):
    """{'used': n, 'max': m} from 'Sforce-Limit-Info: api-usage=n/m[, per-app-api-usage=...]', or None."""
    if not header:
        return None
    match = LIMIT_INFO_RE.search(header)
    if not match:
        return None
    return {'used': int(match.group(1)), 'max': int(match.group(2))}


def normalize_instance_url(url):
    if not isinstance(url, str) or not url.strip():
        raise InputError('instance_url is empty: give the instance_url returned with the access token.')
    url = url.strip().rstrip('/')
    parts = urlsplit(url)
    if parts.scheme != 'https' or not parts.hostname:
        raise InputError('instance_url %r must be an https:// URL (the instance_url returned with the access token); '
                         'Salesforce serves its API over HTTPS only.' % url)
    if parts.path or parts.query or parts.fragment:
        raise InputError('instance_url %r must be the instance origin only (https://host), without a path.' % url)
    return url


def encode_body(body):
    """The JSON text to send for a body given as data or as JSON text."""
    if body is None:
        return None
    if isinstance(body, (bytes, bytearray)):
        body = body.decode('utf-8')
    if isinstance(body, str):
        try:
            parse_json(body, 'body')
        except InvalidJson as exc:
            raise InputError('body is a string but not valid JSON (%s); give the body as a mapping or as JSON text.'
                             % exc.reason) from None
        return body
    try:
        return json.dumps(body)
    except RecursionError:
        raise InputError('body cannot be encoded as JSON: it is nested too deeply.') from None
    except (TypeError, ValueError) as exc:
        raise InputError('body cannot be encoded as JSON: %s' % exc) from None


def invalid_session(response, payload):
    return response.status_code == 401 and any(e['errorCode'] == 'INVALID_SESSION_ID' for e in salesforce_errors(payload))


def build_rest_http_session(options):
    """The auth core's HTTP settings (TLS, timeout, retries) with status retries limited to idempotent methods."""
    session = build_http_session(validate_certs=options.validate_certs, ca_path=options.ca_path, timeout=options.timeout,
                                 retries=options.retries, on_retry=options.warn)
    for prefix in ('https://', 'http://'):
        adapter = session.get_adapter(prefix)
        adapter.max_retries = adapter.max_retries.new(allowed_methods=IDEMPOTENT_METHODS)
    return session


# ---------------------------------------------------------------------------------------------- credentials

class StaticCredentials:
    """access_token + instance_url given directly: used as they are, never renewed."""

    renewable = False

    def __init__(self, access_token, instance_url):
        if not access_token:
            raise InputError('access_token is empty.')
        self.access_token = access_token
        self.instance_url = normalize_instance_url(instance_url)

    org_id = None

    def cached_api_version(self):
        return None

    def remember_api_version(self, version):
        pass

    def renew(self):
        raise ApiError('Salesforce rejected the access_token given (401 INVALID_SESSION_ID: expired or revoked). '
                       'Get a new one with sfjwt.salesforce.token, or give the auth options (consumer_key, username, '
                       'private key) instead of access_token so that the module renews the session itself.',
                       status=401)


class SessionCredentials:
    """A session from the auth core (cache included); renewed once when Salesforce rejects it."""

    renewable = True

    def __init__(self, options, auth):
        self.options = options
        self.auth = auth
        self.session = auth.get_session(options)
        self.instance_url = normalize_instance_url(self.session.instance_url)
        self._version = None

    @property
    def access_token(self):
        return self.session.access_token

    @property
    def org_id(self):
        return self.session.org_id

    def cached_api_version(self):
        extra = getattr(self.session, 'extra', None) or {}
        version = extra.get('api_version')
        if parse_api_version(version) is not None:
            # Kept so that a renewed session carries it too.
            self._version = format_api_version(parse_api_version(version))
            return self._version
        return None

    def remember_api_version(self, version):
        self._version = version
        self.auth.update_session_extra(self.options, self.session, api_version=version)

    def renew(self):
        self.auth.invalidate_session(self.options, self.session)
        self.session = self.auth.get_session(self.options)
        self.instance_url = normalize_instance_url(self.session.instance_url)
        if self._version:
            self.auth.update_session_extra(self.options, self.session, api_version=self._version)


# ---------------------------------------------------------------------------------------------- the client

def query_page_problem(payload):
    """What makes a query answer (a dict with a records list) something Salesforce does not send, or None. Items of
    records that are not records are not a problem here: query() leaves them out with a warning."""
    done = payload.get('done', True)
    if not isinstance(done, bool):
        return 'done is %s, not true or false' % json_type(done)
    total_size = payload.get('totalSize')
    if total_size is not None and (isinstance(total_size, bool) or not isinstance(total_size, int)):
        return 'totalSize is %s, not a whole number' % json_type(total_size)
    next_url = payload.get('nextRecordsUrl')
    if next_url is not None and not isinstance(next_url, str):
        return 'nextRecordsUrl is %s, not a string' % json_type(next_url)
    if not done and not next_url:
        return 'done is false but there is no nextRecordsUrl'
    if not done:
        try:
            if not normalize_path(next_url)[0]:
                raise PathProblem('does not start with /services/')
        except PathProblem as exc:
            return 'nextRecordsUrl %r %s' % (next_url, exc.reason)
    return None


@dataclass
class Answer:
    """What Salesforce answered to one request: status, the decoded JSON (None, with json_error saying why, when the
    body is not JSON), headers and the final URL."""

    status: int
    json: Any
    json_error: Optional[str]
    url: str
    headers: Mapping
    response: Any = field(repr=False)

    @property
    def limit_info(self):
        """{'used': n, 'max': m} of the org's daily API requests, from the Sforce-Limit-Info header, or None."""
        return parse_limit_info(self.headers.get('Sforce-Limit-Info'))

    @property
    def path(self):
        return urlsplit(self.url).path

    def describe(self):
        """The answer in a few words for a message (Salesforce's errors, or the start of the body)."""
        return describe_answer(self.response, self.json)


class RestClient:
    """The one client of the org's REST API: request() for any call, and what modules need on top (api_version, query,
    describe, org_id). Module results are built by the callers (call() and query() for the rest module)."""

    def __init__(self, credentials, http, api_version=LATEST, warn=None):
        self.credentials = credentials
        self.http = http
        self.requested_version = normalize_api_version(api_version)
        self.version = None if self.requested_version == LATEST else self.requested_version
        self.warn = warn or (lambda message: None)
        self.renewed = False
        self._tokens = []

    @property
    def instance_url(self):
        return self.credentials.instance_url

    def renew_session(self):
        """Get a new session once per client, after Salesforce rejected this one (INVALID_SESSION_ID: a 401 of the REST
        API, a SOAP fault); False when it was renewed already."""
        if self.renewed:
            return False
        self.renewed = True
        self.credentials.renew()
        self.warn('Salesforce rejected the cached session (INVALID_SESSION_ID: expired or revoked); '
                  'a new one was obtained and the call repeated.')
        return True

    def session_id(self):
        """The session's access token, for an API that takes it in the request body (SOAP's SessionHeader)."""
        token = self.credentials.access_token
        if token and token not in self._tokens:
            self._tokens.append(token)
        return token

    def tokens_used(self):
        """Every access token this client has sent (a renewed session leaves two): to keep them out of messages."""
        return tuple(self._tokens)

    # -- URLs --------------------------------------------------------------------------------

    def api_version(self):
        """The API version to use: the fixed one, the one cached with the session, or discovered once."""
        if self.version:
            return self.version
        self.version = self.credentials.cached_api_version()
        if self.version:
            return self.version
        url = self.credentials.instance_url + '/services/data/'
        try:
            response = send(self.http, 'GET', url, headers={'Accept': 'application/json'}, verify=self.http.verify,
                            allow_redirects=False)
        except HttpError as exc:
            raise exc.add_context('Cannot discover the latest API version: ', ' Or set api_version to a fixed version '
                                  '(for example 62.0).')
        payload, dummy = decode_json(response)
        version = latest_version(payload) if response.status_code == 200 else None
        if not version:
            raise ApiError('Cannot discover the latest API version: GET %s/services/data/ answered HTTP %d with %s. '
                           'Set api_version to a fixed version (for example 62.0).'
                           % (url_origin(url), response.status_code, describe_answer(response, payload)),
                           status=response.status_code)
        self.version = version
        self.credentials.remember_api_version(version)
        return version

    def resolve(self, path):
        """Full URL for a path: '/services/...' from the instance root, anything else under /services/data/vNN.N/.

        The path is normalised ('.', '..', empty segments) and refused if it climbs out of /services/data/vNN.N/ (or, for
        a path starting with /services/, out of /services/), percent-encoded dots included, or if it holds a control
        character or a backslash."""
        if not isinstance(path, str) or not path.strip():
            raise InputError('path is empty: give a path such as limits, sobjects/Account or /services/data/.')
        path = path.strip()
        if re.match(r'^[A-Za-z][A-Za-z0-9+.-]*://', path):
            raise InputError('path %r is a URL; give only the path (the host is the session\'s instance_url), '
                             'for example /services/data/ or limits.' % path)
        try:
            from_root, normalized, rest = normalize_path(path)
        except PathProblem as exc:
            raise InputError('path %r %s. %s' % (path, exc.reason, path_advice(exc))) from None
        if from_root:
            return self.credentials.instance_url + normalized + rest
        return '%s/services/data/v%s/%s%s' % (self.credentials.instance_url, self.api_version(), normalized, rest)

    # -- requests ----------------------------------------------------------------------------

    def _headers(self, with_body):
        token = self.credentials.access_token
        if token and token not in self._tokens:
            self._tokens.append(token)
        headers = {
            'Authorization': 'Bearer %s' % token,
            'Accept': 'application/json',
        }
        if with_body:
            headers['Content-Type'] = 'application/json'
        return headers

    def request(self, method, path, params=None, body=None, files=None, accepted=None, give_up_after=None, headers=None):
        """One call, renewing a rejected session once per client; its Answer. With ``accepted`` (status codes), any
        other status raises ApiError naming the call, Salesforce's errors and what to do.

        body is JSON text (another kind with its Content-Type in ``headers``); files (requests' multipart form parts)
        are sent as multipart/form-data instead. give_up_after (seconds) ends the call, retries included, when the
        caller's own time is up."""
        answer = self._exchange(method, path, params=params, body=body, files=files, give_up_after=give_up_after,
                                headers=headers)
        if accepted is not None and answer.status not in accepted:
            raise self.failure(method, answer, accepted)
        return answer

    def _exchange(self, method, path, params=None, body=None, files=None, give_up_after=None, headers=None):
        ends = None if give_up_after is None else time.monotonic() + give_up_after
        while True:
            # A call repeated after a session renewal gets what is left of the caller's time, not a new allowance.
            left = None if ends is None else max(0.0, ends - time.monotonic())
            url = self.resolve(path)
            # verify given per request: requests lets REQUESTS_CA_BUNDLE override a session's verify (ca_path).
            response = send(self.http, method, url, params=params, data=body, files=files, verify=self.http.verify,
                            headers=dict(self._headers(body is not None), **(headers or {})), allow_redirects=False, give_up_after=left)
            payload, json_error = (None, None)
            if method != 'HEAD' and (is_json(response) or response.status_code == 401):
                payload, json_error = decode_json(response)
            if invalid_session(response, payload) and self.renew_session():
                continue
            return Answer(response.status_code, payload, json_error, response.url, response.headers, response)

    def known_version(self):
        """The API version in use, or known with the session, without asking the org."""
        return self.version or self.credentials.cached_api_version()

    def planned_url(self, method, path, params=None):
        """The URL a call would use, for check mode (no request sent)."""
        url = self.resolve(path)
        if not params:
            return url
        return Request(method, url, params=params).prepare().url

    def failure(self, method, answer, accepted):
        """The ApiError for an answer whose status is not among ``accepted``."""
        response, payload, status = answer.response, answer.json, answer.status
        hint = ''
        if status == 401:
            if invalid_session(response, payload):
                hint = (' Salesforce rejected a freshly minted session as well: check that the app\'s OAuth scopes '
                        'include Api and that the session is valid for the REST API.' if self.renewed else '')
            else:
                hint = (' This 401 is not an expired session, so it was not retried: check the app\'s OAuth scopes '
                        '(Api is needed for the REST API) and the user\'s "API Enabled" permission.')
        elif status == 403:
            hint = ' The user lacks a permission for this call (check the profile / permission sets, and "API Enabled").'
        elif status == 300:
            hint = ' Several records match an external id: choose one.'
        elif status == 413:
            # Salesforce answers 413 and hangs up; depending on the Python and OpenSSL, the client reads that answer or
            # sees the connection break while it sends (then _http.describe_request_error says the same).
            size = body_size_text(getattr(response, 'request', None))
            hint = (' The request body%s is too large for Salesforce: send less data per request (split the records over '
                    'several calls; upload large files in parts).' % (' (%s)' % size if size else ''))
        elif 300 <= status < 400:
            hint = ' Salesforce redirected to %s; use that path.' % printable(response.headers.get('Location', '(no Location)'))
        msg = '%s %s answered HTTP %d (accepted: %s) with %s.%s' % (
            method, answer.path, status, ', '.join(str(s) for s in accepted), answer.describe(), hint)
        details = dict(status=status, errors=salesforce_errors(payload), url=answer.url)
        if payload is not None and not details['errors']:
            details['json'] = payload
        return ApiError(msg, **details)

    # -- public operations -------------------------------------------------------------------

    def call(self, method, path, params=None, body=None, accepted=DEFAULT_STATUS_CODES, check_mode=False):
        method = method.upper()
        if method not in METHODS:
            raise InputError('method %s is not supported; use one of %s.' % (method, ', '.join(METHODS)))
        if body is not None and method not in BODY_METHODS:
            raise InputError('body is sent only with %s; %s takes none.' % (', '.join(BODY_METHODS), method))
        data = encode_body(body)
        write = method in WRITE_METHODS
        if write and check_mode:
            url = self.planned_url(method, path, params)
            return dict(changed=True, status=None, json=None, url=url, api_version=self.known_version(), limit_info=None)
        answer = self.request(method, path, params=params, body=data, accepted=accepted)
        result = dict(
            changed=write and 200 <= answer.status < 300,
            status=answer.status,
            url=answer.url,
            api_version=self.known_version(),
            limit_info=answer.limit_info,
            json=answer.json,
        )
        if answer.json_error:
            raise ApiError('%s %s answered HTTP %d, but %s.' % (method, answer.path, answer.status, answer.json_error),
                           status=answer.status, url=answer.url)
        response = answer.response
        if method != 'HEAD' and answer.json is None and response.content and not is_json(response):
            text = response.text
            if len(text) > MAX_CONTENT_CHARS:
                self.warn('The answer has %d characters; content holds the first %d.' % (len(text), MAX_CONTENT_CHARS))
                text = text[:MAX_CONTENT_CHARS]
                result['content_truncated'] = True
            result['content'] = text
            result['content_type'] = response.headers.get('Content-Type')
        return result

    def query(self, soql, query_all=False, accepted=DEFAULT_STATUS_CODES):
        """Run SOQL and follow nextRecordsUrl until done; every record is returned."""
        if not isinstance(soql, str) or not soql.strip():
            raise InputError('query is empty: give a SOQL statement such as SELECT Id, Name FROM Account.')
        resource = 'queryAll' if query_all else 'query'
        answer = self.request('GET', resource, params={'q': soql}, accepted=accepted)
        first_url = answer.url
        records = []
        total_size = None
        pages = received = 0
        seen = set()
        while True:
            payload = answer.json
            if answer.json_error or not isinstance(payload, dict) or not isinstance(payload.get('records'), list):
                raise ApiError('GET %s answered HTTP %d with %s, not a query result.'
                               % (answer.path, answer.status, answer.json_error or answer.describe()),
                               status=answer.status, url=answer.url)
            problem = query_page_problem(payload)
            if problem:
                raise ApiError('GET %s answered HTTP %d with an answer that is not a Salesforce query result: %s. Check '
                               'that instance_url is the instance returned with the access token; a proxy or another '
                               'service may be answering.' % (answer.path, answer.status, problem),
                               status=answer.status, url=answer.url)
            pages += 1
            received += len(payload['records'])
            strays = [(index, item) for index, item in enumerate(payload['records']) if not isinstance(item, dict)]
            if strays:
                self.warn('GET %s answered %s in records, left out: %s.'
                          % (answer.path,
                             '1 item that is not a record (an object)' if len(strays) == 1 else
                             '%d items that are not records (objects)' % len(strays),
                             ', '.join('records[%d] is %s' % (index, json_type(item)) for index, item in strays[:5])
                             + (', ...' if len(strays) > 5 else '')))
            records.extend(item for item in payload['records'] if isinstance(item, dict))
            if total_size is None:
                total_size = payload.get('totalSize', len(payload['records']))
            next_url = payload.get('nextRecordsUrl')
            if payload.get('done', True):
                break
            self._check_paging(next_url, seen, pages, received, len(payload['records']), total_size)
            seen.add(next_url)
            answer = self.request('GET', next_url, accepted=accepted)
        return dict(
            changed=False,
            status=answer.status,
            url=first_url,
            api_version=self.version,
            limit_info=answer.limit_info,
            records=records,
            total_size=total_size,
            done=True,
            pages=pages,
        )

    @staticmethod
    def _check_paging(next_url, seen, pages, received, on_this_page, total_size):
        """Stop a query whose pages go on past what its first page promised (totalSize), or past MAX_QUERY_PAGES."""
        broken = None
        if next_url in seen:
            broken = 'it pointed back to nextRecordsUrl %s' % printable(next_url)
        elif not on_this_page:
            broken = 'a page that is not the last held no records'
        elif received >= total_size:
            broken = 'it announced totalSize %d, and after %d records it still has more' % (total_size, received)
        if broken:
            raise ApiError('The query did not finish as Salesforce pages do: %s (page %d). A proxy or another service may '
                           'be answering: check that instance_url is the instance returned with the access token.'
                           % (broken, pages))
        if pages >= MAX_QUERY_PAGES:
            raise ApiError('The query did not finish within %d pages (%d records so far, of %d announced): narrow it (a WHERE '
                           'clause, a LIMIT) or page through it in several queries.' % (MAX_QUERY_PAGES, received, total_size))

    def describe(self, sobject):
        """The describe of an sObject (its ``fields`` a list); ApiError naming the sObject when Salesforce has none."""
        answer = self.request('GET', 'sobjects/%s/describe' % sobject)
        payload = answer.json
        if answer.status != 200 or answer.json_error or not isinstance(payload, dict) or not isinstance(payload.get('fields'), list):
            hint = ' Check the sobject name (custom objects end in __c).' if answer.status == 404 else ''
            raise ApiError('Describing %s failed: Salesforce answered HTTP %d with %s.%s'
                           % (sobject, answer.status, answer.json_error or answer.describe(), hint),
                           status=answer.status, errors=salesforce_errors(payload))
        return payload

    def org_id(self):
        """The 18-character id of the session's org: from the session, the token's prefix, or (last resort) a query."""
        org_id = self.credentials.org_id
        if isinstance(org_id, str) and ORG_ID_RE.match(org_id):
            return id18(org_id)
        org_id = org_id_from_token(self.credentials.access_token)
        if org_id:
            return id18(org_id)
        try:
            answer = self.query('SELECT Id FROM Organization')
        except (ApiError, HttpError) as exc:
            raise exc.add_context('Cannot tell which org this session belongs to: ')
        records = answer.get('records') or []
        org_id = records[0].get('Id') if records and isinstance(records[0], dict) else None
        if not isinstance(org_id, str) or not ORG_ID_RE.match(org_id):
            raise ApiError('Cannot tell which org this session belongs to: SELECT Id FROM Organization answered no org id.')
        return id18(org_id)
