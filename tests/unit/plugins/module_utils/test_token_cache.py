# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The on-disk token cache: permissions, freshness, corruption, locking across processes."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import stat
import time

import pytest

from ansible_collections.sfjwt.salesforce.plugins.module_utils import _token_cache
from ansible_collections.sfjwt.salesforce.plugins.module_utils._token_cache import (
    SharedFailure,
    TokenCache,
    TokenCacheError,
    cache_key,
)

KEY = cache_key('https://login.salesforce.com', 'https://login.salesforce.com', 'CK', 'user@acme.example', 'ab' * 32)
SESSION = {'access_token': '00DCACHE!token', 'instance_url': 'https://acme.my.salesforce.com'}


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


class Clock:
    def __init__(self, now=1_900_000_000.0):
        self.now = now

    def __call__(self):
        return self.now


def test_cache_key_is_a_stable_hash():
    assert len(KEY) == 64 and int(KEY, 16) >= 0
    assert KEY == cache_key('https://login.salesforce.com', 'https://login.salesforce.com', 'CK', 'user@acme.example', 'ab' * 32)
    # field boundaries cannot be shifted to forge another identity's entry
    assert cache_key('h', 'a', 'CK', 'user', 'fp') != cache_key('h', 'a', 'CKu', 'ser', 'fp')


def test_default_cache_dir(monkeypatch, tmp_path):
    monkeypatch.setenv('XDG_CACHE_HOME', str(tmp_path / 'xdg'))
    assert _token_cache.default_cache_dir() == str(tmp_path / 'xdg' / 'sfjwt.salesforce')
    monkeypatch.setenv('XDG_CACHE_HOME', 'relative/ignored')
    monkeypatch.setenv('HOME', str(tmp_path / 'home'))
    assert _token_cache.default_cache_dir() == str(tmp_path / 'home' / '.cache' / 'sfjwt.salesforce')
    monkeypatch.delenv('XDG_CACHE_HOME')
    assert TokenCache().directory == str(tmp_path / 'home' / '.cache' / 'sfjwt.salesforce')


def test_modes_of_directory_entry_and_lock(tmp_path):
    old_umask = os.umask(0o022)
    try:
        cache = TokenCache(str(tmp_path / 'deep' / 'cache'))
        entry, from_cache = cache.get_or_mint(KEY, lambda: dict(SESSION))
    finally:
        os.umask(old_umask)
    assert (entry['session'], from_cache) == (SESSION, False)
    assert mode(cache.directory) == 0o700
    assert mode(cache.entry_path(KEY)) == 0o600
    assert mode(cache.lock_path(KEY)) == 0o600
    assert sorted(os.listdir(cache.directory)) == [KEY + '.json', KEY + '.lock']


def test_before_mint_runs_on_a_miss_before_anything_is_created(tmp_path):
    cache = TokenCache(str(tmp_path / 'cache'))
    calls = []

    def refuse():
        calls.append(os.path.exists(cache.directory))
        raise ValueError('bad key')

    with pytest.raises(ValueError, match='bad key'):
        cache.get_or_mint(KEY, lambda: dict(SESSION), before_mint=refuse)
    assert (calls, os.path.exists(cache.directory)) == ([False], False)
    cache.get_or_mint(KEY, lambda: dict(SESSION), before_mint=lambda: calls.append('checked'))
    assert calls == [False, 'checked']
    entry, from_cache = cache.get_or_mint(KEY, lambda: dict(SESSION), before_mint=refuse)
    assert (entry['session'], from_cache, calls) == (SESSION, True, [False, 'checked'])


def test_group_accessible_directory_is_refused_not_changed(tmp_path):
    directory = tmp_path / 'shared'
    directory.mkdir()
    directory.chmod(0o750)
    with pytest.raises(TokenCacheError) as caught:
        TokenCache(str(directory)).get_or_mint(KEY, lambda: dict(SESSION))
    assert str(caught.value) == ('The token cache directory %s is accessible to other users (mode 0750); access tokens must stay '
                                 'private. Run "chmod 0700 %s", or set cache_dir to a private directory.' % (directory, directory))
    assert mode(directory) == 0o750
    assert os.listdir(directory) == []


def test_directory_of_another_user_is_refused(tmp_path, monkeypatch):
    directory = tmp_path / 'theirs'
    directory.mkdir(mode=0o700)
    owner = os.stat(directory).st_uid
    monkeypatch.setattr(_token_cache.os, 'geteuid', lambda: owner + 1)
    with pytest.raises(TokenCacheError) as caught:
        TokenCache(str(directory)).ensure_directory()
    assert str(caught.value) == ('The token cache directory %s belongs to another user (uid %d): access tokens are not kept there. '
                                 'Set cache_dir (or SFJWT_CACHE_DIR) to a directory of your own.' % (directory, owner))


def test_file_as_cache_dir(tmp_path):
    path = tmp_path / 'file'
    path.write_text('x')
    with pytest.raises(TokenCacheError) as caught:
        TokenCache(str(path)).ensure_directory()
    assert 'Cannot create the token cache directory %s: ' % path in str(caught.value)


def test_fresh_entry_then_expired(tmp_path):
    clock = Clock()
    cache = TokenCache(str(tmp_path), ttl=600, clock=clock)
    cache.get_or_mint(KEY, lambda: dict(SESSION))
    clock.now += 599
    entry, from_cache = cache.get_or_mint(KEY, lambda: pytest.fail('must not mint while fresh'))
    assert from_cache and entry['session'] == SESSION
    clock.now += 1
    entry, from_cache = cache.get_or_mint(KEY, lambda: dict(SESSION, access_token='00DNEW!t'))
    assert (from_cache, entry['session']['access_token']) == (False, '00DNEW!t')


def test_entry_from_the_future_is_not_trusted(tmp_path):
    clock = Clock()
    cache = TokenCache(str(tmp_path), clock=clock)
    cache.get_or_mint(KEY, lambda: dict(SESSION))
    clock.now -= 3600  # the clock was stepped back
    assert cache.read(KEY) is None


@pytest.mark.parametrize('content', [b'', b'{not json', b'[]', b'{"version": 99, "session": {}}', b'\xff\xfe',
                                     b'{"version": 1, "stored_at": "x", "session": {"access_token": "t"}}'])
def test_corrupted_entry_is_a_miss_and_replaced(tmp_path, content):
    cache = TokenCache(str(tmp_path / 'c'))
    cache.ensure_directory()
    path = cache.entry_path(KEY)
    with open(path, 'wb') as handle:
        handle.write(content)
    os.chmod(path, 0o600)
    entry, from_cache = cache.get_or_mint(KEY, lambda: dict(SESSION))
    assert not from_cache
    with open(path) as handle:
        assert json.load(handle)['session'] == SESSION
    assert mode(path) == 0o600


def test_entry_readable_by_others_is_ignored(tmp_path):
    cache = TokenCache(str(tmp_path / 'c'))
    cache.get_or_mint(KEY, lambda: dict(SESSION))
    os.chmod(cache.entry_path(KEY), 0o644)
    assert cache.read(KEY) is None
    entry, from_cache = cache.get_or_mint(KEY, lambda: dict(SESSION, access_token='00DNEW!t'))
    assert not from_cache
    assert mode(cache.entry_path(KEY)) == 0o600


def test_symlinked_entry_is_ignored(tmp_path):
    cache = TokenCache(str(tmp_path / 'c'))
    cache.ensure_directory()
    target = tmp_path / 'elsewhere.json'
    target.write_text(json.dumps({'version': 1, 'stored_at': time.time(), 'session': SESSION, 'extra': {}}))
    target.chmod(0o600)
    os.symlink(str(target), cache.entry_path(KEY))
    assert cache.read(KEY) is None


def test_invalidate_only_the_same_token(tmp_path):
    cache = TokenCache(str(tmp_path))
    cache.get_or_mint(KEY, lambda: dict(SESSION))
    assert cache.invalidate(KEY, 'someone-elses-token') is False
    assert cache.read(KEY) is not None
    assert cache.invalidate(KEY, SESSION['access_token']) is True
    assert cache.read(KEY) is None
    assert cache.invalidate(KEY, SESSION['access_token']) is False


def test_invalidate_without_a_token_drops_whatever_the_entry_holds(tmp_path):
    cache = TokenCache(str(tmp_path))
    cache.get_or_mint(KEY, lambda: dict(SESSION))
    assert cache.invalidate(KEY) is True
    assert cache.read(KEY) is None
    assert cache.invalidate(KEY) is False


def test_update_extra(tmp_path):
    cache = TokenCache(str(tmp_path))
    cache.get_or_mint(KEY, lambda: dict(SESSION))
    assert cache.update_extra(KEY, SESSION['access_token'], {'api_version': '61.0'}) is True
    assert cache.update_extra(KEY, 'stale', {'api_version': '1.0'}) is False
    entry, from_cache = cache.get_or_mint(KEY, lambda: pytest.fail('fresh'))
    assert from_cache and entry['extra'] == {'api_version': '61.0'}
    assert mode(cache.entry_path(KEY)) == 0o600


def raiser(error):
    def mint():
        raise error
    return mint


class Refusal(Exception):
    def cache_record(self):
        return {'message': str(self), 'details': {'status_code': 400}}


def test_failure_is_shared_only_with_those_who_waited(tmp_path):
    clock = Clock()
    cache = TokenCache(str(tmp_path), clock=clock)
    with pytest.raises(Refusal):
        cache.get_or_mint(KEY, raiser(Refusal("user hasn't approved")))
    # A process that started waiting before the failure was stored gets it without asking again.
    with pytest.raises(SharedFailure) as caught:
        cache.get_or_mint(KEY, lambda: pytest.fail('must not mint again'))
    assert caught.value.record['message'] == "user hasn't approved"
    assert caught.value.record['details'] == {'status_code': 400}
    # A later call asks again.
    clock.now += 1
    entry, from_cache = cache.get_or_mint(KEY, lambda: dict(SESSION))
    assert (from_cache, entry['session']) == (False, SESSION)


class RateRefusal(Refusal):
    def __init__(self, message, hold=300):
        super().__init__(message)
        self.hold = hold

    def cache_record(self):
        return dict(super().cache_record(), hold=self.hold)


def stored(cache):
    with open(cache.entry_path(KEY)) as handle:
        return json.load(handle)


def test_held_failure_is_shared_with_every_later_caller_until_it_expires(tmp_path):
    clock = Clock()
    cache = TokenCache(str(tmp_path), ttl=600, clock=clock)
    # The caller that got the refusal gets it as stored, with the time the identity may be asked again.
    with pytest.raises(SharedFailure) as caught:
        cache.get_or_mint(KEY, raiser(RateRefusal('LOGIN_RATE_EXCEEDED')))
    assert caught.value.record == {'message': 'LOGIN_RATE_EXCEEDED', 'details': {'status_code': 400},
                                   'at': clock.now, 'until': clock.now + 300}
    assert isinstance(caught.value.__cause__, RateRefusal)
    assert stored(cache) == {'version': 1, 'failure': caught.value.record}
    assert mode(cache.entry_path(KEY)) == 0o600
    # Later callers (not only those who waited) get it without asking, until the back-off ends.
    for elapsed in (1, 150, 299):
        clock.now = caught.value.record['at'] + elapsed
        with pytest.raises(SharedFailure) as again:
            cache.get_or_mint(KEY, lambda: pytest.fail('must not ask while the refusal is held'))
        assert again.value.record == caught.value.record
    clock.now = caught.value.record['until']
    entry, from_cache = cache.get_or_mint(KEY, lambda: dict(SESSION))
    assert (from_cache, entry['session']) == (False, SESSION)
    assert 'failure' not in stored(cache)


@pytest.mark.parametrize('ttl, hold, held', [(60, 300, 60), (600, 300, 300), (86400, 7200, _token_cache.MAX_FAILURE_HOLD)])
def test_hold_is_bounded_by_the_ttl_and_an_hour(tmp_path, ttl, hold, held):
    clock = Clock()
    cache = TokenCache(str(tmp_path), ttl=ttl, clock=clock)
    with pytest.raises(SharedFailure) as caught:
        cache.get_or_mint(KEY, raiser(RateRefusal('LOGIN_RATE_EXCEEDED', hold=hold)))
    assert caught.value.record['until'] == clock.now + held


def test_held_failure_longer_than_an_hour_is_not_trusted(tmp_path):
    clock = Clock()
    cache = TokenCache(str(tmp_path), clock=clock)
    cache.ensure_directory()
    with open(cache.entry_path(KEY), 'w') as handle:
        json.dump({'version': 1, 'failure': {'message': 'x', 'at': clock.now, 'until': clock.now + 10 ** 9}}, handle)
    os.chmod(cache.entry_path(KEY), 0o600)
    clock.now += 1
    entry, from_cache = cache.get_or_mint(KEY, lambda: dict(SESSION))
    assert not from_cache


@pytest.mark.parametrize('hold', [0, None, -5, True, 'forever'])
def test_failure_without_a_usable_hold_is_not_held(tmp_path, hold):
    clock = Clock()
    cache = TokenCache(str(tmp_path), clock=clock)
    with pytest.raises(RateRefusal):
        cache.get_or_mint(KEY, raiser(RateRefusal('refused', hold=hold)))
    assert 'until' not in stored(cache)['failure'] and 'hold' not in stored(cache)['failure']
    clock.now += 1
    entry, from_cache = cache.get_or_mint(KEY, lambda: dict(SESSION))
    assert not from_cache


def test_held_failure_from_the_future_is_not_trusted(tmp_path):
    clock = Clock()
    cache = TokenCache(str(tmp_path), clock=clock)
    with pytest.raises(SharedFailure):
        cache.get_or_mint(KEY, raiser(RateRefusal('LOGIN_RATE_EXCEEDED')))
    clock.now -= 3600  # the clock was stepped back: the record cannot say how long is left
    entry, from_cache = cache.get_or_mint(KEY, lambda: dict(SESSION))
    assert not from_cache


def test_deleting_the_entry_clears_a_held_failure(tmp_path):
    cache = TokenCache(str(tmp_path), clock=Clock())
    with pytest.raises(SharedFailure):
        cache.get_or_mint(KEY, raiser(RateRefusal('LOGIN_RATE_EXCEEDED')))
    os.unlink(cache.entry_path(KEY))
    entry, from_cache = cache.get_or_mint(KEY, lambda: dict(SESSION))
    assert not from_cache


def test_local_failure_is_not_stored(tmp_path):
    cache = TokenCache(str(tmp_path), clock=Clock())
    with pytest.raises(RuntimeError):
        cache.get_or_mint(KEY, raiser(RuntimeError('local')))
    assert not os.path.exists(cache.entry_path(KEY))
    entry, from_cache = cache.get_or_mint(KEY, lambda: dict(SESSION))
    assert not from_cache


# ---------------------------------------------------------------- across processes

def _mint_in_process(directory, counter, start, results):
    start.wait()

    def mint():
        with counter.get_lock():
            counter.value += 1
        time.sleep(0.3)  # a slow token request: everyone else arrives while it runs
        return dict(SESSION)

    entry, from_cache = TokenCache(directory).get_or_mint(KEY, mint)
    results.put((entry['session']['access_token'], from_cache))


def test_concurrent_processes_mint_once(tmp_path):
    context = multiprocessing.get_context('fork')
    counter = context.Value('i', 0)
    start = context.Event()
    results = context.Queue()
    workers = [context.Process(target=_mint_in_process, args=(str(tmp_path / 'c'), counter, start, results)) for dummy in range(12)]
    for worker in workers:
        worker.start()
    start.set()
    outcomes = [results.get(timeout=60) for dummy in workers]
    for worker in workers:
        worker.join(timeout=60)
    assert counter.value == 1
    assert sorted(outcomes) == [(SESSION['access_token'], False)] + [(SESSION['access_token'], True)] * 11


def _hold_lock(directory, locked, seconds):
    with TokenCache(directory).locked(KEY):
        locked.set()
        time.sleep(seconds)


def test_lock_wait_is_bounded(tmp_path):
    context = multiprocessing.get_context('fork')
    locked = context.Event()
    holder = context.Process(target=_hold_lock, args=(str(tmp_path), locked, 30))
    holder.start()
    try:
        assert locked.wait(30)
        cache = TokenCache(str(tmp_path), lock_timeout=0.3)
        with pytest.raises(TokenCacheError) as caught:
            cache.get_or_mint(KEY, lambda: pytest.fail('must not mint without the lock'))
        assert str(caught.value) == (
            'Gave up after 0.3 seconds waiting for the token cache lock %s: another process (pid %d) is still requesting a token '
            'for the same user and app. If that process hangs, stop it; the lock is released as soon as it exits.'
            % (cache.lock_path(KEY), holder.pid))
    finally:
        holder.kill()
        holder.join()


def test_killed_holder_releases_the_lock(tmp_path):
    context = multiprocessing.get_context('fork')
    locked = context.Event()
    holder = context.Process(target=_hold_lock, args=(str(tmp_path), locked, 30))
    holder.start()
    assert locked.wait(30)
    os.kill(holder.pid, signal.SIGKILL)
    holder.join()
    entry, from_cache = TokenCache(str(tmp_path), lock_timeout=10).get_or_mint(KEY, lambda: dict(SESSION))
    assert (entry['session'], from_cache) == (SESSION, False)
