# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module is private to this collection: its API may change without notice.

"""On-disk cache of access tokens, shared by every process on the machine that runs as the same user.

Ansible runs every task of every host in a fresh forked worker and re-evaluates lookups at each reference,
while Salesforce allows only about 3,600 logins per user and hour. So tokens live on disk, one JSON entry
per identity, and workers wanting a token for the same identity serialize on a per-entry file lock: the
first one mints, the others read what it stored.

Security: the directory is created 0700 and must belong to the current user and not be accessible to
group or others (an existing directory that is, is refused with the chmod that fixes it, rather than
silently changed: it may be a directory the user did not mean to dedicate to tokens). Entries are 0600,
written atomically; an entry readable by others is ignored and replaced. Anything at an entry's or a lock's
path that is not a regular file of the current user (a link, a directory, a FIFO...) is refused with the
command that removes it: it is never followed, opened in a way that could block, or silently worked around.

A refusal for rate limiting (LOGIN_RATE_EXCEEDED) is kept in the entry for a bounded back-off, and every
caller gets it: asking again while Salesforce counts logins would only prolong the lockout. A refusal that
asking again cannot change (an unknown consumer key, invalid_grant) is shared for a few seconds with the
callers that arrive meanwhile (the other hosts of the same task), never longer. Other failures are shared
only with the processes that waited for them.

Hygiene: a process that mints a token also removes, within a bounded amount of work, the temporary files of
killed writers (they may hold a token) and the entries no cache_ttl allows to be used any more (left by
changed keys or users), with their locks; never an entry whose lock another process holds, never a link.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import random
import re
import shlex
import stat
import time
from contextlib import contextmanager

from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._common import DEFAULT_TTL
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._errors import AuthError
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._io import (
    TEMP_SUFFIX,
    InvalidJson,
    parse_json,
    remove_stale_temp_files,
    split_missing_directories,
    write_file_atomic,
)
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._token_fields import cached_session_problem

DEFAULT_LOCK_TIMEOUT = 60
CACHE_DIR_NAME = 'sfjwt.salesforce'
ENTRY_VERSION = 1
LOCK_POLL_INTERVAL = 0.05
# An entry stored "in the future" by more than this (clock stepped back) is not trusted.
FUTURE_TOLERANCE = 5
# A held failure never keeps callers away longer than this (Salesforce's login rate limit clears within an hour).
MAX_FAILURE_HOLD = 3600
# A refusal that asking again cannot change is shared with later callers for a few seconds, never longer than this:
# a user who fixed its cause must be able to ask again at once.
MAX_REFUSAL_SHARE = 10
# The longest cache_ttl allowed (12 hours): an entry not written for longer is of no use to anyone and may be removed.
MAX_TTL = 43200
# At most this many identities' files are examined for tidying each time a token is minted.
TIDY_MAX_KEYS = 16
# A cache write takes milliseconds, and its writer holds a lock on its temporary file: one older than this is a leftover.
STALE_TEMP_AGE = 300
_FILE_NAME = re.compile(r'^([0-9a-f]{64})\.(json|lock)$')
# What write_file_atomic names the temporary file of an entry (see _io).
_TEMP_NAME = re.compile(r'^\.([0-9a-f]{64})\.json\.[a-z0-9_]{8}%s$' % re.escape(TEMP_SUFFIX))
_OPEN_FLAGS = getattr(os, 'O_NOFOLLOW', 0) | getattr(os, 'O_NONBLOCK', 0) | getattr(os, 'O_CLOEXEC', 0)


class TokenCacheError(AuthError):
    """The cache cannot be used safely; the message says why and how to fix it."""


class SharedFailure(Exception):
    """A stored failure for the identity: another process failed to get a token while this one waited for it,
    or a failure held for a back-off period (its record has ``until``, the time the next request may be made).

    ``record`` is what was stored (see ``get_or_mint``); the caller turns it back into its own error.
    """

    def __init__(self, record):
        super().__init__(record.get('message', 'token request failed'))
        self.record = record


def default_cache_dir():
    """$XDG_CACHE_HOME/sfjwt.salesforce, else ~/.cache/sfjwt.salesforce (relative XDG paths are ignored, as the spec says)."""
    base = os.environ.get('XDG_CACHE_HOME')
    if not base or not os.path.isabs(base):
        base = os.path.join(os.path.expanduser('~'), '.cache')
    return os.path.join(base, CACHE_DIR_NAME)


def _file_kind(info):
    """What a path is, for the message refusing it, or None for a regular file of the current user."""
    mode = info.st_mode
    if stat.S_ISREG(mode):
        return None if info.st_uid == os.geteuid() else 'a file of another user (uid %d)' % info.st_uid
    if stat.S_ISDIR(mode):
        return 'a directory'
    if stat.S_ISLNK(mode):
        return 'a symbolic link'
    if stat.S_ISFIFO(mode):
        return 'a named pipe (FIFO)'
    if stat.S_ISSOCK(mode):
        return 'a socket'
    return 'a device'


def _refuse(what, path, info):
    """Raise TokenCacheError if ``info`` (an lstat or fstat of ``path``) is not a regular file of the current user."""
    kind = _file_kind(info)
    if kind is None:
        return
    command = 'rm -r' if stat.S_ISDIR(info.st_mode) else 'rm'
    raise TokenCacheError('The token cache %s %s is %s, where the cache keeps a private file of its own: it is left alone and '
                          'no token is requested. Remove it ("%s %s") and run again, or set cache_dir to another directory.'
                          % (what, path, kind, command, shlex.quote(path)))


def _lstat(path):
    try:
        return os.lstat(path)
    except OSError:
        return None


def cache_key(token_host, audience, consumer_key, username, key_digest):
    """The entry name for one identity: a hash, so the directory listing reveals no user or app."""
    material = json.dumps([token_host, audience, consumer_key, username, key_digest], separators=(',', ':'))
    return hashlib.sha256(material.encode('utf-8')).hexdigest()


class TokenCache:
    """A directory of token entries. ``get_or_mint`` is the only way in that mints."""

    def __init__(self, directory=None, ttl=DEFAULT_TTL, lock_timeout=DEFAULT_LOCK_TIMEOUT, clock=time.time):
        self.directory = os.path.abspath(os.path.expanduser(directory or default_cache_dir()))
        self.ttl = ttl
        self.lock_timeout = lock_timeout
        self.clock = clock
        self._directory_checked = False

    # -- paths and directory ---------------------------------------------------------------------------

    def entry_path(self, key):
        return os.path.join(self.directory, key + '.json')

    def lock_path(self, key):
        return os.path.join(self.directory, key + '.lock')

    def ensure_directory(self):
        """Create the directory 0700, or check an existing one is private to the current user."""
        if self._directory_checked:
            return
        path = self.directory
        try:
            # Each missing level is made 0700 (makedirs would make the parents 0777 minus the umask: 0777 under umask 0).
            for missing in split_missing_directories(path)[0] or [path]:
                try:
                    os.mkdir(missing, 0o700)
                except FileExistsError:
                    if not os.path.isdir(missing):   # else made by another process meanwhile, or already there
                        raise
            info = os.stat(path)
        except OSError as exc:
            raise TokenCacheError('Cannot create the token cache directory %s: %s. Set cache_dir (or SFJWT_CACHE_DIR) to a '
                                  'writable directory, or turn the cache off with cache=false.'
                                  % (path, exc.strerror or exc)) from None
        if not stat.S_ISDIR(info.st_mode):
            raise TokenCacheError('The token cache path %s exists but is not a directory. Set cache_dir to a directory.' % path)
        if info.st_uid != os.geteuid():
            raise TokenCacheError('The token cache directory %s belongs to another user (uid %d): access tokens are not kept '
                                  'there. Set cache_dir (or SFJWT_CACHE_DIR) to a directory of your own.' % (path, info.st_uid))
        if info.st_mode & 0o077:
            raise TokenCacheError('The token cache directory %s is accessible to other users (mode %04o); access tokens must '
                                  'stay private. Run "chmod 0700 %s", or set cache_dir to a private directory.'
                                  % (path, stat.S_IMODE(info.st_mode), path))
        self._directory_checked = True

    # -- entries ---------------------------------------------------------------------------------------

    def _read_raw(self, key):
        """The stored entry as a dict, or None when missing, unreadable, corrupted or readable by others.
        Raises TokenCacheError when the path holds something else than a regular file of the current user."""
        path = self.entry_path(key)
        info = _lstat(path)
        if info is None:
            return None
        _refuse('entry', path, info)
        try:
            # Never blocks, never follows a link, even if the path was replaced since the lstat.
            fd = os.open(path, os.O_RDONLY | _OPEN_FLAGS)
        except OSError:
            return None
        try:
            info = os.fstat(fd)
            _refuse('entry', path, info)
            if info.st_mode & 0o077:
                return None
            with os.fdopen(fd, 'rb') as handle:
                fd = None
                data = parse_json(handle.read(), path)
        except (OSError, InvalidJson):
            return None
        finally:
            if fd is not None:
                os.close(fd)
        if not isinstance(data, dict) or data.get('version') != ENTRY_VERSION:
            return None
        return data

    def held_failure(self, raw, share_recent=False):
        """The failure record of a raw entry while its back-off lasts (or, with ``share_recent``, while a refusal that
        asking again cannot change is fresh), else None."""
        failure = (raw or {}).get('failure')
        if not isinstance(failure, dict):
            return None
        for name, longest in (('until', MAX_FAILURE_HOLD), ('shared_until', MAX_REFUSAL_SHARE if share_recent else None)):
            at, until = failure.get('at'), failure.get(name)
            if longest is None or not _is_number(at) or not _is_number(until):
                continue
            # A record stored "in the future" (clock stepped back) is not trusted to keep anyone waiting.
            if at - FUTURE_TOLERANCE <= self.clock() < until <= at + longest:
                return failure
        return None

    def _fresh(self, entry):
        if not entry or _bad_session(entry):
            return False
        stored_at = entry.get('stored_at')
        if not isinstance(stored_at, (int, float)):
            return False
        age = self.clock() - stored_at
        return -FUTURE_TOLERANCE <= age < self.ttl

    def is_fresh(self, entry):
        """Whether an entry read before (a session dict with stored_at) may still be used, by this cache's clock and ttl."""
        return self._fresh(entry)

    def read(self, key):
        """The fresh entry for ``key`` ({'session': {...}, 'extra': {...}, 'stored_at': ...}) or None. An entry whose
        session fails the token answer's checks is removed."""
        raw = self._read_raw(key)
        if _bad_session(raw):
            try:
                with self.locked(key):
                    self._remove_bad_session(key)
            except TokenCacheError:
                pass   # best effort: the entry is not served either way
            return None
        return self._fresh_entry(raw)

    def _remove_bad_session(self, key):
        """Under the entry's lock: remove the entry if its session fails the token answer's checks (written by a release
        that checked less, or edited): it is never served, and a fresh login replaces it."""
        if _bad_session(self._read_raw(key)):
            try:
                os.unlink(self.entry_path(key))
            except FileNotFoundError:
                pass
            except OSError as exc:
                raise TokenCacheError('Cannot remove the token cache entry %s: %s.' % (self.entry_path(key), exc.strerror or exc)) from None

    def _fresh_entry(self, entry):
        if not self._fresh(entry):
            return None
        if not isinstance(entry.get('extra'), dict):
            entry['extra'] = {}
        return entry

    def _write(self, key, entry):
        entry = dict(entry, version=ENTRY_VERSION)
        try:
            write_file_atomic(self.entry_path(key), json.dumps(entry, sort_keys=True).encode('utf-8'), mode=0o600)
        except OSError as exc:
            raise TokenCacheError('Cannot write to the token cache directory %s: %s. Set cache_dir to a writable '
                                  'directory, or turn the cache off with cache=false.' % (self.directory, exc.strerror or exc)) from None

    # -- locking ---------------------------------------------------------------------------------------

    @contextmanager
    def locked(self, key):
        """Hold the entry's lock (flock on <key>.lock, so a killed holder releases it); bounded by lock_timeout."""
        self.ensure_directory()
        path = self.lock_path(key)
        deadline = time.monotonic() + self.lock_timeout
        fd = None
        while fd is None:
            fd = self._open_lock(path)
            try:
                while not _try_lock(fd, path):
                    if time.monotonic() >= deadline:
                        raise TokenCacheError('Gave up after %g seconds waiting for the token cache lock %s: another process '
                                              '(%s) is still requesting a token for the same user and app. If that process '
                                              'hangs, stop it; the lock is released as soon as it exits.'
                                              % (self.lock_timeout, path, _lock_holder(fd)))
                    time.sleep(LOCK_POLL_INTERVAL)
                # A tidying process removes an unused lock file while holding it: the one locked must still be the one
                # at the path, else the next process, creating a new one, would hold "the" lock too. Then try again.
                if not _same_file(os.fstat(fd), _lstat(path)):
                    os.close(fd)
                    fd = None
            except BaseException:
                if fd is not None:
                    os.close(fd)
                raise
        try:
            try:
                os.ftruncate(fd, 0)
                os.pwrite(fd, str(os.getpid()).encode('ascii'), 0)
            except OSError:
                pass  # the pid is only informative
            yield
        finally:
            os.close(fd)  # closing the descriptor releases the flock

    @staticmethod
    def _open_lock(path):
        info = _lstat(path)
        if info is not None:
            _refuse('lock', path, info)
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | _OPEN_FLAGS, 0o600)
        except OSError as exc:
            raise TokenCacheError('Cannot open the token cache lock %s: %s. Set cache_dir to a writable directory, '
                                  'or turn the cache off with cache=false.' % (path, exc.strerror or exc)) from None
        try:
            _refuse('lock', path, os.fstat(fd))
        except BaseException:
            os.close(fd)
            raise
        return fd

    # -- the operations --------------------------------------------------------------------------------

    def get_or_mint(self, key, mint, before_mint=None, share_recent=True):
        """Return (entry, from_cache). ``mint()`` returns a session dict; it runs at most once at a time per key.

        ``before_mint()``, if given, is a check of what ``mint()`` needs that raises (the key), so that bad input leaves
        nothing behind: it runs before the directory is created when there is none, else only in the process that mints,
        under the lock. Processes that wait for another one's token never run it (nor import what it needs).

        If ``mint()`` raises an exception whose ``cache_record()`` method returns a dict (an answer or failure of
        the server, not a local problem), the record is stored so that processes which waited meanwhile raise
        ``SharedFailure(record)`` instead of asking again; a later call asks again. A record with ``hold``
        (seconds, for rate limiting) is kept for min(hold, ttl, MAX_FAILURE_HOLD) seconds: until then every call raises
        ``SharedFailure(record)``, the minting one included, with ``until`` (epoch seconds) in the record.

        A record with ``share`` (seconds, for refusals that asking again cannot change) is shared for min(share,
        MAX_REFUSAL_SHARE) seconds: until then calls with ``share_recent`` (not those asking again on purpose) raise
        ``SharedFailure(record)``; the minting one raises its own exception. The record has ``shared_until``.

        A call that mints also tidies the directory a little (see ``tidy``).
        """
        # Reading first is safe: _read_raw accepts only a regular file of ours that no one else can read.
        raw = self._read_raw(key)
        fresh, held = self._fresh(raw), self.held_failure(raw, share_recent)
        check_first = before_mint is not None and not fresh and held is None and not os.path.isdir(self.directory)
        if check_first:
            before_mint()
        self.ensure_directory()
        if fresh:
            return self._fresh_entry(raw), True
        if held is not None:
            raise SharedFailure(held)
        waiting_since = self.clock()
        with self.locked(key):
            self._remove_bad_session(key)
            raw = self._read_raw(key)
            if self._fresh(raw):
                return self._fresh_entry(raw), True
            held = self.held_failure(raw, share_recent)
            if held is not None:
                raise SharedFailure(held)
            failure = (raw or {}).get('failure')
            if isinstance(failure, dict) and isinstance(failure.get('at'), (int, float)) and \
                    waiting_since <= failure['at'] <= self.clock() + FUTURE_TOLERANCE:
                raise SharedFailure(failure)
            if before_mint is not None and not check_first:
                before_mint()
            try:
                session = mint()
            except Exception as exc:
                record = getattr(exc, 'cache_record', None)
                record = record() if callable(record) else None
                if not isinstance(record, dict):
                    raise
                failure = dict(record, at=self.clock())
                hold, share = failure.pop('hold', None), failure.pop('share', None)
                if _is_number(hold) and hold > 0:
                    failure['until'] = failure['at'] + min(hold, self.ttl, MAX_FAILURE_HOLD)
                elif _is_number(share) and share > 0:
                    failure['shared_until'] = failure['at'] + min(share, MAX_REFUSAL_SHARE)
                self._write(key, {'failure': failure})
                if 'until' in failure:
                    raise SharedFailure(failure) from exc
                raise
            entry = {'stored_at': self.clock(), 'session': session, 'extra': {}}
            self._write(key, entry)
        self.tidy(keep=key)
        return entry, False

    # -- hygiene ---------------------------------------------------------------------------------------

    def tidy(self, keep=None):
        """Remove, for at most TIDY_MAX_KEYS identities picked at random, the temporary files of killed writers (they
        may hold a token) and, except for ``keep``, entries and lock files unused for longer than any cache_ttl (left
        by changed keys or users). Only regular files of the current user are touched, an entry only while holding its
        lock without waiting for it: an entry in use is left alone. Best effort: never raises."""
        try:
            names = os.listdir(self.directory)
        except OSError:
            return
        found = {}
        for name in names:
            match = _FILE_NAME.match(name)
            if match:
                found.setdefault(match.group(1), set()).add(match.group(2))
            elif _TEMP_NAME.match(name):
                found.setdefault(name[1:65], set()).add('temp')
        # The kept identity is looked at besides the TIDY_MAX_KEYS others (its stale temporary files only).
        others = sorted(key for key in found if key != keep)
        chosen = random.sample(others, min(len(others), TIDY_MAX_KEYS)) + ([keep] if keep in found else [])
        for key in chosen:
            try:
                if 'temp' in found[key]:
                    remove_stale_temp_files(self.entry_path(key), max_age=STALE_TEMP_AGE)
                if key != keep and found[key] & {'json', 'lock'}:
                    self._prune(key)
            except (OSError, TokenCacheError):
                pass

    def _prune(self, key):
        """Remove the entry and the lock of ``key`` if unused for longer than any cache_ttl and nobody holds the lock."""
        entry_path, lock_path = self.entry_path(key), self.lock_path(key)
        oldest_allowed = time.time() - max(self.ttl, MAX_TTL) - FUTURE_TOLERANCE
        present = [info for info in (_lstat(entry_path), _lstat(lock_path)) if info is not None]
        # Only regular files of ours, neither written lately (a lock file is written by each process taking the lock).
        if not present or any(_file_kind(info) is not None or info.st_mtime >= oldest_allowed for info in present):
            return
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | _OPEN_FLAGS, 0o600)
        try:
            held = os.fstat(fd)
            if _file_kind(held) is not None or not _try_lock(fd, lock_path) or not _same_file(held, _lstat(lock_path)):
                return
            # The entry cannot change while its lock is held: check it again, then remove it and the lock, still held.
            entry = _lstat(entry_path)
            if entry is not None:
                if _file_kind(entry) is not None or entry.st_mtime >= oldest_allowed:
                    return
                os.unlink(entry_path)
            os.unlink(lock_path)
        finally:
            os.close(fd)

    def invalidate(self, key, access_token=None):
        """Drop the entry if it still holds ``access_token`` (a newer token stored meanwhile is kept), or whatever it holds
        when ``access_token`` is None. True if dropped."""
        with self.locked(key):
            raw = self._read_raw(key)
            session = raw.get('session') if raw else None
            if not raw or (access_token is not None and (not isinstance(session, dict) or session.get('access_token') != access_token)):
                return False
            try:
                os.unlink(self.entry_path(key))
            except FileNotFoundError:
                return False
            except OSError as exc:
                raise TokenCacheError('Cannot remove the token cache entry %s: %s.' % (self.entry_path(key), exc.strerror or exc)) from None
            return True

    def update_extra(self, key, access_token, values):
        """Store ``values`` with the entry if it still holds ``access_token``. True if stored."""
        with self.locked(key):
            entry = self._fresh_entry(self._read_raw(key))
            if entry is None or entry['session'].get('access_token') != access_token:
                return False
            entry['extra'].update(values)
            self._write(key, entry)
            return True


def _bad_session(raw):
    """Whether a raw entry holds a session that fails the token answer's checks (an entry without one is no session)."""
    return isinstance(raw, dict) and 'session' in raw and cached_session_problem(raw['session']) is not None


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _try_lock(fd, path):
    """Take the flock without waiting: True if taken, False if another process holds it."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError as exc:
        if exc.errno not in (errno.EAGAIN, errno.EWOULDBLOCK, errno.EACCES):
            raise TokenCacheError('Cannot lock the token cache entry %s: %s.' % (path, exc.strerror or exc)) from None
        return False


def _same_file(info, other):
    return other is not None and (info.st_dev, info.st_ino) == (other.st_dev, other.st_ino)


def _lock_holder(fd):
    try:
        pid = os.pread(fd, 32, 0).decode('ascii', 'replace').strip()
    except OSError:
        pid = ''
    return 'pid %s' % pid if pid.isdigit() else 'unknown pid'
