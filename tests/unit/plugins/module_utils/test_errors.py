# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The collection's errors (module_utils/core/_errors): the four kinds, add_context, the token cache's records, run_module."""

from __future__ import annotations

import pytest

from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._errors import (
    REFUSAL_SHARE_SECONDS, ApiError, AuthError, HttpError, InputError, SalesforceError, fail_with, run_module)
from ansible_collections.sfjwt.salesforce.tests.unit.plugins.module_utils.fakes import FakeModule


class Exited(SystemExit):
    """What ExitingModule raises from fail_json and exit_json, as AnsibleModule exits."""

    def __init__(self, failed, kwargs):
        super().__init__(1 if failed else 0)
        self.failed = failed
        self.kwargs = kwargs


class ExitingModule(FakeModule):
    """A FakeModule whose fail_json and exit_json exit as AnsibleModule's do, recording what they were given."""

    def __init__(self):
        super().__init__({})
        self.exits = []

    def fail_json(self, **kwargs):
        self.exits.append(('fail_json', kwargs))
        raise Exited(True, kwargs)

    def exit_json(self, **kwargs):
        self.exits.append(('exit_json', kwargs))
        raise Exited(False, kwargs)


def raising(exc):
    def work():
        raise exc
    return work


# ---------------------------------------------------------------- the kinds

@pytest.mark.parametrize('kind', [InputError, HttpError, ApiError, AuthError])
def test_every_kind_is_a_salesforce_error_with_message_and_details(kind):
    error = kind('The org said no.', {'status_code': 400})
    assert isinstance(error, SalesforceError) and isinstance(error, Exception)
    assert str(error) == error.message == error.msg == 'The org said no.'
    assert error.args == ('The org said no.',)
    assert error.details == {'status_code': 400}


def test_the_kinds_are_distinct():
    kinds = (InputError, HttpError, ApiError, AuthError)
    for kind in kinds:
        assert [other for other in kinds if issubclass(kind, other)] == [kind]


def test_details_come_as_a_dict_as_keywords_or_both_and_the_keywords_win():
    assert SalesforceError('m').details == {}
    assert SalesforceError('m', None).details == {}
    assert SalesforceError('m', status=500).details == {'status': 500}
    assert SalesforceError('m', {'status': 400, 'errors': []}, status=500).details == {'status': 500, 'errors': []}


def test_the_details_given_are_copied_not_shared():
    given = {'status': 400}
    error = ApiError('m', given)
    error.add_context(status=500, retried=True)
    assert given == {'status': 400}
    assert error.details == {'status': 500, 'retried': True}


# ---------------------------------------------------------------- add_context

def test_add_context_frames_the_message_and_returns_the_same_error():
    error = ApiError('HTTP 404 Not Found.', status=404)
    same = error.add_context('Reading Account 001: ', ' Check the record id.')
    assert same is error
    assert str(error) == error.message == error.msg == 'Reading Account 001: HTTP 404 Not Found. Check the record id.'
    assert error.args == ('Reading Account 001: HTTP 404 Not Found. Check the record id.',)
    assert error.details == {'status': 404}


def test_add_context_sets_details_and_the_callers_win():
    error = ApiError('m', status=404, errors=['x'])
    error.add_context(status=200, changed=False)
    assert error.message == 'm'
    assert error.details == {'status': 200, 'errors': ['x'], 'changed': False}


def test_add_context_twice_frames_the_framed_message():
    error = InputError('bad value').add_context('option a: ').add_context('task: ', '.')
    assert str(error) == 'task: option a: bad value.'


def test_add_context_keeps_the_kind_when_raised_again():
    with pytest.raises(AuthError) as caught:
        try:
            raise AuthError('refused', {'status_code': 400}, shareable=True, hold=60)
        except AuthError as exc:
            raise exc.add_context('Logging in: ')
    assert str(caught.value) == 'Logging in: refused'
    assert (caught.value.shareable, caught.value.hold) == (True, 60)


# ---------------------------------------------------------------- AuthError and the token cache

def test_an_auth_error_is_not_shared_unless_it_says_so():
    assert AuthError('m', {'status_code': 400, 'salesforce_error': 'invalid_grant'}).cache_record() is None
    assert AuthError('m', {'status_code': 400, 'salesforce_error': 'invalid_grant'}, hold=300).cache_record() is None


def test_a_held_refusal_is_recorded_with_its_hold_and_no_share():
    error = AuthError('Too many logins.', {'status_code': 400, 'salesforce_error': 'invalid_grant'}, shareable=True, hold=300)
    assert error.cache_record() == {'message': 'Too many logins.', 'details': {'status_code': 400, 'salesforce_error': 'invalid_grant'},
                                    'hold': 300}


def test_a_final_refusal_is_shared_for_a_moment():
    error = AuthError('Unknown consumer key.', {'status_code': 400, 'salesforce_error': 'invalid_client_id'}, shareable=True)
    assert REFUSAL_SHARE_SECONDS == 2
    assert error.final_refusal() is True
    assert error.cache_record() == {'message': 'Unknown consumer key.',
                                    'details': {'status_code': 400, 'salesforce_error': 'invalid_client_id'}, 'share': 2}


@pytest.mark.parametrize('details', [
    {'status_code': 500, 'salesforce_error': 'invalid_grant'},
    {'status_code': 429, 'salesforce_error': 'invalid_grant'},
    {'status_code': 400, 'salesforce_error': 'unknown_error'},
    {'status_code': '400', 'salesforce_error': 'invalid_grant'},
    {'salesforce_error': 'invalid_grant'},
    {},
])
def test_an_outage_or_unknown_refusal_is_recorded_without_share_or_hold(details):
    error = AuthError('m', details, shareable=True)
    assert error.final_refusal() is False
    assert error.cache_record() == {'message': 'm', 'details': details}


def test_a_hold_of_zero_is_no_hold():
    error = AuthError('m', {'status_code': 400, 'salesforce_error': 'invalid_grant'}, shareable=True, hold=0)
    assert error.cache_record() == {'message': 'm', 'details': {'status_code': 400, 'salesforce_error': 'invalid_grant'}, 'share': 2}


def test_an_error_rebuilt_from_its_record_has_its_message_note_and_details_and_is_not_shared_again():
    details = {'status_code': 400, 'salesforce_error': 'invalid_grant', 'salesforce_error_description': 'invalid assertion'}
    record = AuthError('Refused.', details, shareable=True).cache_record()
    rebuilt = AuthError.from_record(record, note=' (another host asked a moment ago)')
    assert rebuilt.__class__ is AuthError   # not a subclass such as TokenCacheError
    assert str(rebuilt) == 'Refused. (another host asked a moment ago)'
    assert rebuilt.details == details
    assert (rebuilt.shareable, rebuilt.hold) == (False, None)
    assert rebuilt.cache_record() is None


@pytest.mark.parametrize('record', [{}, {'message': ''}, {'message': None, 'details': None}])
def test_a_record_without_a_message_rebuilds_a_generic_error(record):
    rebuilt = AuthError.from_record(record, note=' Try again.')
    assert str(rebuilt) == 'The token request failed. Try again.'
    assert rebuilt.details == {}


# ---------------------------------------------------------------- fail_with and run_module

def test_fail_with_fails_with_the_message_and_details_and_the_details_win():
    module = ExitingModule()
    with pytest.raises(Exited):
        fail_with(module, ApiError('Deploy failed.', status=400, progress='errors'), progress='started', changed=False)
    assert module.exits == [('fail_json', {'msg': 'Deploy failed.', 'status': 400, 'progress': 'errors', 'changed': False})]


def test_a_successful_run_exits_with_the_result():
    module = ExitingModule()
    with pytest.raises(Exited) as caught:
        run_module(module, lambda: {'changed': True, 'id': '001'}, failure_fields={'progress': 'x'})
    assert caught.value.failed is False
    assert module.exits == [('exit_json', {'changed': True, 'id': '001'})]


@pytest.mark.parametrize('kind', [InputError, HttpError, ApiError, AuthError, SalesforceError])
def test_a_salesforce_error_fails_with_its_message_and_details(kind):
    module = ExitingModule()
    with pytest.raises(Exited) as caught:
        run_module(module, raising(kind('Salesforce refused.', {'status_code': 403})))
    assert caught.value.failed is True
    assert module.exits == [('fail_json', {'msg': 'Salesforce refused.', 'status_code': 403})]


def test_failure_fields_as_a_dict_are_added_and_the_details_win():
    module = ExitingModule()
    with pytest.raises(Exited):
        run_module(module, raising(ApiError('m', progress='done')), failure_fields={'progress': 'started', 'deploy_id': None})
    assert module.exits == [('fail_json', {'msg': 'm', 'progress': 'done', 'deploy_id': None})]


def test_failure_fields_as_a_function_are_given_the_error():
    module = ExitingModule()
    error = AuthError('refused', {'status_code': 400, 'refusal': 'unknown_consumer_key'})
    seen = []

    def fields(exc):
        seen.append(exc)
        return {'propagation_pending': exc.details['refusal'] == 'unknown_consumer_key'}

    with pytest.raises(Exited):
        run_module(module, raising(error), failure_fields=fields)
    assert seen == [error]
    assert module.exits == [('fail_json', {'msg': 'refused', 'status_code': 400, 'refusal': 'unknown_consumer_key',
                                           'propagation_pending': True})]


def test_failure_fields_returning_none_add_nothing():
    module = ExitingModule()
    with pytest.raises(Exited):
        run_module(module, raising(InputError('bad option')), failure_fields=lambda exc: None)
    assert module.exits == [('fail_json', {'msg': 'bad option'})]


def test_failure_fields_are_not_added_to_a_success():
    module = ExitingModule()
    with pytest.raises(Exited):
        run_module(module, lambda: {'changed': False}, failure_fields=lambda exc: pytest.fail('called on success'))
    assert module.exits == [('exit_json', {'changed': False})]


def test_any_other_exception_is_an_unexpected_error_named_by_type_with_its_traceback():
    def work():
        raise KeyError('00Dxx0000001gPL!AQ-secret')

    module = ExitingModule()
    with pytest.raises(Exited) as caught:
        run_module(module, work, failure_fields={'progress': 'started'})
    assert caught.value.failed is True
    [(method, kwargs)] = module.exits
    assert method == 'fail_json'
    assert sorted(kwargs) == ['exception', 'msg']
    assert kwargs['msg'] == 'Unexpected error: KeyError'
    assert kwargs['exception'].startswith('Traceback (most recent call last):')
    assert 'in work' in kwargs['exception']
    assert kwargs['exception'].rstrip().endswith("KeyError: '00Dxx0000001gPL!AQ-secret'")


def test_an_interrupt_is_not_turned_into_a_failed_result():
    module = ExitingModule()
    with pytest.raises(KeyboardInterrupt):
        run_module(module, raising(KeyboardInterrupt()))
    assert module.exits == []
