# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The on-disk token cache: permissions, freshness, corruption, locking across processes."""

from __future__ import annotations

import contextlib
import fcntl
import json
import multiprocessing
import os
import signal
import stat
import threading
import time

import pytest

from ansible_collections.sfjwt.salesforce.plugins.module_utils.core import _token_cache
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._token_cache import (
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


def test_missing_parents_are_made_0700_even_under_umask_0(tmp_path):
    # ~/.cache and above may be missing on a fresh account: none of them may end up world-writable.
    home = tmp_path / 'home'
    home.mkdir()
    home.chmod(0o755)
    old_umask = os.umask(0)
    try:
        cache = TokenCache(str(home / '.cache' / 'deeper' / 'sfjwt.salesforce'))
        cache.get_or_mint(KEY, lambda: dict(SESSION))
    finally:
        os.umask(old_umask)
    assert [mode(path) for path in (home / '.cache', home / '.cache' / 'deeper', cache.directory)] == [0o700, 0o700, 0o700]
    assert mode(home) == 0o755   # an existing directory is left as it is
    assert mode(cache.entry_path(KEY)) == 0o600


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


def lock_is_held(path):
    """Whether some open file description holds the flock on path (tried from a new one, without waiting)."""
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def test_a_waiter_that_finds_the_token_minted_meanwhile_checks_no_key(tmp_path, monkeypatch):
    # Many forks, one identity, a cold cache: the process that waited for the lock finds the token the first one minted.
    cache = TokenCache(str(tmp_path / 'cache'))
    cache.ensure_directory()
    original = cache.locked

    @contextlib.contextmanager
    def locked_after_another_process_minted(key):
        cache._write(key, {'stored_at': cache.clock(), 'session': dict(SESSION), 'extra': {}})
        with original(key):
            yield
    monkeypatch.setattr(cache, 'locked', locked_after_another_process_minted)
    entry, from_cache = cache.get_or_mint(KEY, lambda: pytest.fail('minted again'),
                                          before_mint=lambda: pytest.fail('checked the key while waiting'))
    assert (entry['session'], from_cache) == (SESSION, True)


def test_a_bad_key_in_an_existing_directory_is_checked_under_the_lock_and_leaves_no_entry(tmp_path):
    cache = TokenCache(str(tmp_path / 'cache'))
    cache.ensure_directory()
    checked_under_lock = []

    def refuse():
        checked_under_lock.append(lock_is_held(cache.lock_path(KEY)))
        raise ValueError('bad key')

    with pytest.raises(ValueError, match='bad key'):
        cache.get_or_mint(KEY, lambda: pytest.fail('minted with a bad key'), before_mint=refuse)
    assert checked_under_lock == [True]
    assert not os.path.exists(cache.entry_path(KEY))


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
                                     b'{"version": 1, "stored_at": "x", "session": {"access_token": "t"}}',
                                     pytest.param(b'[' * 100000 + b']' * 100000, id='nested 100000 deep')])
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


# Sessions an older release (which checked less) or a hand edit may have left: each fails a check of the token answer.
BAD_SESSIONS = {
    'http instance_url': dict(SESSION, instance_url='http://acme.my.salesforce.com'),
    'instance_url with a path': dict(SESSION, instance_url='https://acme.my.salesforce.com/services'),
    'instance_url a list': dict(SESSION, instance_url=['https://acme.my.salesforce.com']),
    'no instance_url': {'access_token': SESSION['access_token']},
    'access_token a number': dict(SESSION, access_token=12345),
    'access_token with a space': dict(SESSION, access_token='00D token'),
    'id a number': dict(SESSION, id=5),
    'issued_at an object': dict(SESSION, issued_at={'at': 1}),
    'session a list': [SESSION['access_token'], SESSION['instance_url']],
    'session a string': SESSION['access_token'],
}


def plant(cache, session, stored_at):
    cache.ensure_directory()
    path = cache.entry_path(KEY)
    with open(path, 'w') as handle:
        json.dump({'version': 1, 'stored_at': stored_at, 'session': session, 'extra': {}}, handle)
    os.chmod(path, 0o600)
    return path


@pytest.mark.parametrize('session', list(BAD_SESSIONS.values()), ids=list(BAD_SESSIONS))
def test_a_fresh_entry_whose_session_fails_the_answer_checks_is_not_served_and_is_replaced(tmp_path, session):
    clock = Clock()
    cache = TokenCache(str(tmp_path / 'c'), clock=clock)
    path = plant(cache, session, clock.now - 10)   # well within its ttl
    minted = []
    entry, from_cache = cache.get_or_mint(KEY, lambda: minted.append(1) or dict(SESSION))
    assert (entry['session'], from_cache, minted) == (SESSION, False, [1])
    with open(path) as handle:
        assert json.load(handle)['session'] == SESSION


@pytest.mark.parametrize('session', list(BAD_SESSIONS.values()), ids=list(BAD_SESSIONS))
def test_reading_a_fresh_entry_whose_session_fails_the_answer_checks_removes_it(tmp_path, session):
    clock = Clock()
    cache = TokenCache(str(tmp_path / 'c'), clock=clock)
    path = plant(cache, session, clock.now - 10)
    assert cache.read(KEY) is None
    assert not os.path.exists(path)
    assert cache.invalidate(KEY, access_token='00DCACHE!token') is False   # nothing left to drop, no crash


def test_an_entry_whose_session_fails_the_checks_is_removed_even_if_minting_fails(tmp_path):
    clock = Clock()
    cache = TokenCache(str(tmp_path / 'c'), clock=clock)
    path = plant(cache, BAD_SESSIONS['http instance_url'], clock.now - 10)

    def mint():
        raise ValueError('no network')
    with pytest.raises(ValueError, match='no network'):
        cache.get_or_mint(KEY, mint)
    assert not os.path.exists(path)


def test_invalidate_of_an_entry_whose_session_is_a_list_does_not_crash(tmp_path):
    clock = Clock()
    cache = TokenCache(str(tmp_path / 'c'), clock=clock)
    path = plant(cache, BAD_SESSIONS['session a list'], clock.now - 10)
    assert cache.invalidate(KEY, access_token='00DCACHE!token') is False
    assert cache.invalidate(KEY) is True and not os.path.exists(path)


def test_entry_readable_by_others_is_ignored(tmp_path):
    cache = TokenCache(str(tmp_path / 'c'))
    cache.get_or_mint(KEY, lambda: dict(SESSION))
    os.chmod(cache.entry_path(KEY), 0o644)
    assert cache.read(KEY) is None
    entry, from_cache = cache.get_or_mint(KEY, lambda: dict(SESSION, access_token='00DNEW!t'))
    assert not from_cache
    assert mode(cache.entry_path(KEY)) == 0o600


def test_symlinked_entry_is_refused_not_followed(tmp_path):
    cache = TokenCache(str(tmp_path / 'c'))
    cache.ensure_directory()
    target = tmp_path / 'elsewhere.json'
    target.write_text(json.dumps({'version': 1, 'stored_at': time.time(), 'session': SESSION, 'extra': {}}))
    target.chmod(0o600)
    os.symlink(str(target), cache.entry_path(KEY))
    with pytest.raises(TokenCacheError) as caught:
        cache.read(KEY)
    assert str(caught.value) == refused('entry', cache.entry_path(KEY), 'a symbolic link', 'rm')
    assert os.path.islink(cache.entry_path(KEY))


def refused(what, path, kind, command):
    return ('The token cache %s %s is %s, where the cache keeps a private file of its own: it is left alone and no token is '
            'requested. Remove it ("%s %s") and run again, or set cache_dir to another directory.' % (what, path, kind, command, path))


def run_in_process(function, timeout=10):
    """function() in a forked process: ('ok', its result) or ('error', exception type, message). A call that hangs fails
    the test after ``timeout`` seconds instead of hanging the suite."""
    context = multiprocessing.get_context('fork')
    results = context.Queue()

    def target():
        try:
            results.put(('ok', function()))
        except Exception as exc:  # pylint: disable=broad-except
            results.put(('error', type(exc).__name__, str(exc)))

    process = context.Process(target=target)
    process.start()
    process.join(timeout)
    if process.is_alive():
        process.kill()
        process.join()
        pytest.fail('hung for %d seconds' % timeout)
    return results.get(timeout=10)


@pytest.mark.parametrize('what', ['entry', 'lock'])
def test_fifo_in_the_cache_is_refused_without_hanging(tmp_path, what):
    cache = TokenCache(str(tmp_path / 'c'))
    cache.ensure_directory()
    path = getattr(cache, what + '_path')(KEY)
    os.mkfifo(path, 0o600)
    outcome = run_in_process(lambda: cache.get_or_mint(KEY, lambda: dict(SESSION)))
    assert outcome == ('error', 'TokenCacheError', refused(what, path, 'a named pipe (FIFO)', 'rm'))
    assert stat.S_ISFIFO(os.lstat(path).st_mode)


@pytest.mark.parametrize('what', ['entry', 'lock'])
def test_directory_in_the_cache_is_refused_before_a_login(tmp_path, what):
    cache = TokenCache(str(tmp_path / 'c'))
    cache.ensure_directory()
    path = getattr(cache, what + '_path')(KEY)
    os.mkdir(path, 0o700)
    minted = []
    with pytest.raises(TokenCacheError) as caught:
        cache.get_or_mint(KEY, lambda: minted.append(1) or dict(SESSION))
    assert str(caught.value) == refused(what, path, 'a directory', 'rm -r')
    assert minted == [] and os.path.isdir(path)


def test_entry_of_another_user_is_refused(tmp_path, monkeypatch):
    cache = TokenCache(str(tmp_path / 'c'))
    cache.get_or_mint(KEY, lambda: dict(SESSION))
    owner = os.stat(cache.entry_path(KEY)).st_uid
    monkeypatch.setattr(_token_cache.os, 'geteuid', lambda: owner + 1)
    with pytest.raises(TokenCacheError) as caught:
        cache.read(KEY)
    assert str(caught.value) == refused('entry', cache.entry_path(KEY), 'a file of another user (uid %d)' % owner, 'rm')


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


class FinalRefusal(Refusal):
    """A refusal retrying cannot fix (unknown consumer key, invalid_grant): shared for ``share`` seconds."""

    def __init__(self, message, share=2):
        super().__init__(message)
        self.share = share

    def cache_record(self):
        return dict(super().cache_record(), share=self.share)


def test_final_refusal_reaches_the_callers_arriving_soon_after_without_asking_again(tmp_path):
    clock = Clock()
    cache = TokenCache(str(tmp_path), clock=clock)
    # The caller that asked gets its own error; the record says until when it answers for everyone.
    with pytest.raises(FinalRefusal):
        cache.get_or_mint(KEY, raiser(FinalRefusal('unknown consumer key')))
    record = stored(cache)['failure']
    assert record == {'message': 'unknown consumer key', 'details': {'status_code': 400}, 'at': clock.now, 'shared_until': clock.now + 2}
    # A worker that started after the refusal was stored (the next hosts of the same task) gets it without a login.
    clock.now += 1.5
    with pytest.raises(SharedFailure) as caught:
        cache.get_or_mint(KEY, lambda: pytest.fail('must not ask again'), before_mint=lambda: pytest.fail('nor check the key'))
    assert caught.value.record == record
    # A caller that asks again on purpose (waiting for a deployed app's settings to apply) is not answered from it.
    with pytest.raises(FinalRefusal):
        cache.get_or_mint(KEY, raiser(FinalRefusal('unknown consumer key')), share_recent=False)
    # Not held: once the moment has passed (a later run, after the user fixed the cause), the next call asks again.
    clock.now = stored(cache)['failure']['shared_until']
    entry, from_cache = cache.get_or_mint(KEY, lambda: dict(SESSION))
    assert (from_cache, entry['session']) == (False, SESSION)


@pytest.mark.parametrize('share, shared', [(10 ** 9, _token_cache.MAX_REFUSAL_SHARE), (0, None), (-1, None), (True, None),
                                           ('soon', None), (None, None)])
def test_final_refusal_is_shared_for_seconds_at_most(tmp_path, share, shared):
    clock = Clock()
    cache = TokenCache(str(tmp_path), clock=clock)
    with pytest.raises(FinalRefusal):
        cache.get_or_mint(KEY, raiser(FinalRefusal('refused', share=share)))
    assert stored(cache)['failure'].get('shared_until') == (clock.now + shared if shared else None)
    assert 'share' not in stored(cache)['failure']


def test_forged_share_window_is_not_trusted(tmp_path):
    clock = Clock()
    cache = TokenCache(str(tmp_path), clock=clock)
    cache.ensure_directory()
    with open(cache.entry_path(KEY), 'w') as handle:
        json.dump({'version': 1, 'failure': {'message': 'x', 'at': clock.now, 'shared_until': clock.now + 86400}}, handle)
    os.chmod(cache.entry_path(KEY), 0o600)
    clock.now += 1
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


# ---------------------------------------------------------------- hygiene: leftovers of killed runs, entries of old keys

def key_for(name):
    return cache_key('https://login.salesforce.com', 'https://login.salesforce.com', name, 'user@acme.example', 'cd' * 32)


def put(path, age, content='{}'):
    """A private file last written ``age`` seconds ago."""
    with open(path, 'w') as handle:
        handle.write(content)
    os.chmod(path, 0o600)
    then = time.time() - age
    os.utime(path, (then, then))
    return path


def held_lock(path):
    """Open ``path`` and hold its flock, as another process holding the entry's lock (or a writer its temporary file) does."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    return fd


def test_minting_removes_leftovers_of_killed_writers_and_expired_entries(tmp_path):
    cache = TokenCache(str(tmp_path / 'c'))
    cache.ensure_directory()
    old = _token_cache.MAX_TTL + 3600
    expired, fresh, busy, linked, orphan, recent_orphan = (key_for(name) for name in ('expired', 'fresh', 'busy', 'linked', 'orphan', 'recent'))
    directory = cache.directory
    put(cache.entry_path(expired), old)
    put(cache.lock_path(expired), old)
    put(cache.entry_path(fresh), 60)
    put(cache.lock_path(fresh), 60)
    put(cache.entry_path(busy), old)
    busy_fd = held_lock(put(cache.lock_path(busy), old))
    target = put(str(tmp_path / 'target.json'), old)
    os.symlink(target, cache.entry_path(linked))
    put(cache.lock_path(orphan), old)
    put(cache.lock_path(recent_orphan), 60)
    # temporary files of killed writers (old, unlocked) hold tokens; one still being written is locked by its writer
    killed = [put(os.path.join(directory, '.%s.json.%s.tmp' % (key, 'k1ll3d_0')), 3600, json.dumps({'session': SESSION}))
              for key in (KEY, expired, fresh)]
    writing_fd = held_lock(put(os.path.join(directory, '.%s.json.wr1t1ng0.tmp' % fresh), 3600))
    put(os.path.join(directory, 'notes.txt'), old)
    try:
        cache.get_or_mint(KEY, lambda: dict(SESSION))
        # a cache hit does no tidying
        put(cache.entry_path(expired), old)
        cache.get_or_mint(KEY, lambda: pytest.fail('fresh'))
        left = set(os.listdir(directory))
    finally:
        os.close(busy_fd)
        os.close(writing_fd)
    assert not any(os.path.basename(path) in left for path in killed)
    assert left == {KEY + '.json', KEY + '.lock', expired + '.json', fresh + '.json', fresh + '.lock', busy + '.json',
                    busy + '.lock', linked + '.json', recent_orphan + '.lock', '.%s.json.wr1t1ng0.tmp' % fresh, 'notes.txt'}
    assert os.path.islink(cache.entry_path(linked)) and os.path.exists(target)


def test_tidying_is_bounded(tmp_path, monkeypatch):
    monkeypatch.setattr(_token_cache, 'TIDY_MAX_KEYS', 5)
    cache = TokenCache(str(tmp_path / 'c'))
    cache.ensure_directory()
    for number in range(40):
        put(cache.entry_path(key_for('old%d' % number)), _token_cache.MAX_TTL + 3600)
    cache.get_or_mint(KEY, lambda: dict(SESSION))
    assert len(os.listdir(cache.directory)) == 35 + 2


def test_a_lock_file_removed_while_waited_for_is_not_used(tmp_path):
    """A tidying process removes an old entry's lock file while holding it: a process that was waiting for that file must
    not take it for the lock, or it and the next process (which creates a new file) would both hold "the" lock."""
    cache = TokenCache(str(tmp_path), lock_timeout=10)
    cache.ensure_directory()
    path = cache.lock_path(KEY)
    fd = held_lock(path)
    holding, release = threading.Event(), threading.Event()

    def waiter():
        with cache.locked(KEY):
            holding.set()
            release.wait(10)

    thread = threading.Thread(target=waiter)
    thread.start()
    try:
        time.sleep(0.3)  # the waiter has opened the lock file and polls it
        os.unlink(path)
        os.close(fd)
        assert holding.wait(10)
        probe = os.open(path, os.O_RDWR)
        try:
            with pytest.raises(BlockingIOError):
                fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
        finally:
            os.close(probe)
    finally:
        release.set()
        thread.join()
