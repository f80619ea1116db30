# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module is private to this collection: its API may change without notice.

"""Crash-safe file writes, and link-safe reads, shared by the modules and the controller-side plugins."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import re
import shlex
import stat
import tempfile
import time

TEMP_SUFFIX = '.tmp'
# A temporary file is taken for a killed run's leftover only when it is unlocked AND at least this old; the age covers
# the instant between its creation and its writer taking the lock.
STALE_TEMP_SECONDS = 3600
# The random part tempfile.mkstemp puts in a name: 8 characters of [a-z0-9_].
_RANDOM_PART = re.compile(r'^[a-z0-9_]{8}$')


def _temp_prefix(path):
    return '.%s.' % os.path.basename(path)


def write_file_atomic(path, data, mode=0o600):
    """Write ``data`` (bytes) to ``path`` so that readers see the old file or the new one, never a part.

    The temporary file is created 0600 by ``mkstemp`` in the target directory, so a secret is never
    world-readable, not even for an instant; its final mode is applied before the rename. The writer holds
    an exclusive lock on it until the rename, which tells remove_stale_temp_files() it is in flight.
    """
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp_path = tempfile.mkstemp(prefix=_temp_prefix(path), suffix=TEMP_SUFFIX, dir=directory)
    try:
        with os.fdopen(fd, 'wb') as handle:
            _lock_if_possible(handle.fileno())
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
            os.fchmod(handle.fileno(), mode)
            os.replace(tmp_path, path)
    except BaseException:
        try:
            os.unlink(tmp_path)
        except OSError:
            pass
        raise
    _fsync_directory(directory)


def split_missing_directories(directory):
    """(missing, nearest): the directories to create for directory to exist, outermost first, and the nearest path
    that exists (a directory, or whatever blocks the way)."""
    missing = []
    current = os.path.abspath(directory)
    while not os.path.isdir(current) and not os.path.lexists(current):
        missing.append(current)
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    return list(reversed(missing)), current


def _lock_if_possible(fd):
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        pass  # no locks on this filesystem: the age rule alone then protects the file


@contextlib.contextmanager
def directory_lock(directory, timeout=60.0, poll=0.05):
    """Hold an exclusive flock on ``directory`` itself (no lock file is added to it) for a read-modify-write of a file
    in it that several processes may update at once. Raises TimeoutError after ``timeout`` seconds; a filesystem
    without locks gives no lock, as _lock_if_possible."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    break   # no locks on this filesystem
                if time.monotonic() >= deadline:
                    raise TimeoutError('%s stayed locked by another process for %g seconds' % (directory, timeout)) from None
                time.sleep(poll)
        yield
    finally:
        os.close(fd)   # closing drops the lock


def remove_stale_temp_files(path, max_age=STALE_TEMP_SECONDS):
    """Remove what write_file_atomic(path) left behind when its process was killed; returns the removed paths.

    Only names write_file_atomic makes for this path are considered, and one is removed only when it is older than
    max_age seconds and nobody holds its lock (a writer holds it until its rename; the kernel drops it when the process
    dies). Best effort: a file that cannot be checked is left alone.
    """
    directory = os.path.dirname(os.path.abspath(path))
    prefix = _temp_prefix(path)
    try:
        names = os.listdir(directory)
    except OSError:
        return []
    oldest_allowed = time.time() - max_age
    removed = []
    for name in names:
        if not (name.startswith(prefix) and name.endswith(TEMP_SUFFIX)
                and _RANDOM_PART.match(name[len(prefix):-len(TEMP_SUFFIX)])):
            continue
        candidate = os.path.join(directory, name)
        if _remove_if_stale(candidate, oldest_allowed):
            removed.append(candidate)
    return removed


def _remove_if_stale(path, oldest_allowed):
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return False
    try:
        opened = os.fstat(fd)
        if not stat.S_ISREG(opened.st_mode) or opened.st_mtime > oldest_allowed:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False  # its writer is still running, or locks cannot tell here
        current = os.lstat(path)
        if (current.st_dev, current.st_ino) != (opened.st_dev, opened.st_ino):
            return False
        os.unlink(path)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


def _fsync_directory(directory):
    """Make the rename itself durable; not every filesystem allows opening a directory."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class FileRefused(ValueError):
    """A file read_regular_file does not read. str(): why, in a few words; ``reason``: 'link', 'hard_link',
    'not_regular' or 'too_large'; ``size``: the file's size when it was too large before reading (None when it grew while
    read); ``links``: its number of names, for 'hard_link'."""

    def __init__(self, reason, message, size=None, links=None):
        super().__init__(message)
        self.reason = reason
        self.size = size
        self.links = links


def hard_link_advice(path):
    """How to fix a hard-linked project file, for messages: what read_regular_file refuses with reason 'hard_link'."""
    quoted, copy = shlex.quote(path), shlex.quote(path + '.copy')
    return ('If the file belongs here, give it a content of its own ("cp %s %s && mv %s %s"); else remove it'
            % (quoted, copy, copy, quoted))


def read_regular_file(path, limit, follow_links=False):
    """The bytes of the regular file at path, at most ``limit`` of them, never blocking (on a FIFO or a device). A link is
    refused unless ``follow_links`` (for a path the user gave, such as a key mounted from a secret store; never for files
    found in a project), and so is a hard link (a regular file with more than one name: the other name may be anywhere,
    a private key for example). Raises OSError (FileNotFoundError when there is nothing), or FileRefused.

    The one way the collection reads a file it did not write in this run (the token cache reads its entries itself: it
    also checks their owner and mode on the open file)."""
    if not follow_links and stat.S_ISLNK(os.lstat(path).st_mode):
        raise FileRefused('link', 'it is a symbolic link, which is not followed')
    flags = os.O_RDONLY | getattr(os, 'O_NONBLOCK', 0) | (0 if follow_links else getattr(os, 'O_NOFOLLOW', 0))
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP and not follow_links:   # replaced by a link since the lstat
            raise FileRefused('link', 'it is a symbolic link, which is not followed') from None
        raise
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):   # checked before fdopen, which refuses a directory with its own error
            raise FileRefused('not_regular', 'it is not a regular file')
        if not follow_links and info.st_nlink > 1:
            raise FileRefused('hard_link', 'it is a hard link (the same file has %d names), which is not read' % info.st_nlink,
                              links=info.st_nlink)
        if info.st_size > limit:
            raise FileRefused('too_large', 'it has more than %d bytes' % limit, size=info.st_size)
    except BaseException:
        os.close(fd)
        raise
    with os.fdopen(fd, 'rb') as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise FileRefused('too_large', 'it has more than %d bytes' % limit)
    return data


class InvalidJson(ValueError):
    """What parse_json raises. str(): '<source> is not valid JSON (<reason>)'; ``reason`` alone, for other wordings."""

    def __init__(self, source, reason):
        super().__init__('%s is not valid JSON (%s)' % (source, reason))
        self.source = source
        self.reason = reason


def parse_json(data, source):
    """The JSON value of ``data`` (bytes or text) read from ``source`` (a file's path, or what the data is), else
    InvalidJson naming the source and what is wrong, for the caller to put in its own message.

    The one way the collection parses JSON it reads from a file: json.loads raises RecursionError, not ValueError, on
    arrays or objects nested deeper than Python's recursion limit, which would end a module with a traceback."""
    try:
        text = data.decode('utf-8') if isinstance(data, (bytes, bytearray)) else data
        return json.loads(text)
    except RecursionError:
        raise InvalidJson(source, 'arrays or objects nested too deeply to read') from None
    except ValueError as exc:   # UnicodeDecodeError included
        raise InvalidJson(source, str(exc)) from None
