# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Crash-safe writes and link-safe reads (module_utils/core/_io): modes, leftovers, links, FIFOs, devices and sizes."""

from __future__ import annotations

import fcntl
import os
import socket
import stat
import tempfile
import time

import pytest

from ansible_collections.sfjwt.salesforce.plugins.module_utils.core import _io
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._io import (
    FileRefused, read_regular_file, remove_stale_temp_files, split_missing_directories, write_file_atomic)

HOUR = 3600


def open_descriptors():
    return sorted(os.listdir('/proc/self/fd')) if os.path.isdir('/proc/self/fd') else None


def mode_of(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


def leftover(target, age=2 * HOUR):
    """A temporary file as write_file_atomic names it for target, as a killed run leaves it, ``age`` seconds old."""
    fd, path = tempfile.mkstemp(prefix='.%s.' % os.path.basename(target), suffix='.tmp', dir=os.path.dirname(target))
    os.write(fd, b'partial')
    os.close(fd)
    then = time.time() - age
    os.utime(path, (then, then))
    return path


def aged(path, age=2 * HOUR):
    then = time.time() - age
    os.utime(path, (then, then), follow_symlinks=False)
    return path


# ---------------------------------------------------------------- write_file_atomic

def test_write_creates_the_file_with_its_contents_and_0600_by_default(tmp_path):
    target = str(tmp_path / 'server.key')
    write_file_atomic(target, b'secret\x00bytes\n')
    assert open(target, 'rb').read() == b'secret\x00bytes\n'
    assert mode_of(target) == 0o600
    assert os.listdir(tmp_path) == ['server.key']


@pytest.mark.parametrize('umask', [0o000, 0o022, 0o077, 0o777])
@pytest.mark.parametrize('mode', [0o600, 0o640, 0o644, 0o400])
def test_the_mode_is_the_one_asked_for_whatever_the_umask(tmp_path, umask, mode):
    target = str(tmp_path / 'file')
    previous = os.umask(umask)
    try:
        write_file_atomic(target, b'x', mode=mode)
    finally:
        os.umask(previous)
    assert mode_of(target) == mode


def test_a_world_readable_file_is_replaced_by_a_private_one(tmp_path):
    target = tmp_path / 'server.key'
    target.write_bytes(b'old')
    target.chmod(0o666)
    previous = os.umask(0o000)
    try:
        write_file_atomic(str(target), b'new')
    finally:
        os.umask(previous)
    assert (target.read_bytes(), mode_of(str(target))) == (b'new', 0o600)


def test_write_replaces_the_file_with_a_new_one_not_in_place(tmp_path):
    target = tmp_path / 'cache.json'
    target.write_bytes(b'old contents, longer than the new')
    with open(target, 'rb') as reader:
        write_file_atomic(str(target), b'new')
        assert reader.read() == b'old contents, longer than the new'
    assert target.read_bytes() == b'new'
    assert os.listdir(tmp_path) == ['cache.json']


def test_write_replaces_a_symbolic_link_and_leaves_its_target_alone(tmp_path):
    victim = tmp_path / 'victim'
    victim.write_bytes(b'do not touch')
    victim.chmod(0o644)
    link = tmp_path / 'server.key'
    link.symlink_to(victim)
    write_file_atomic(str(link), b'key')
    assert not link.is_symlink() and link.read_bytes() == b'key'
    assert victim.read_bytes() == b'do not touch' and mode_of(str(victim)) == 0o644


def test_write_through_a_dangling_link_writes_a_file_in_its_place(tmp_path):
    link = tmp_path / 'server.key'
    link.symlink_to(tmp_path / 'elsewhere' / 'nothing')
    write_file_atomic(str(link), b'key')
    assert not link.is_symlink() and link.read_bytes() == b'key'
    assert not (tmp_path / 'elsewhere').exists()


def test_a_relative_path_is_written_in_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_file_atomic('relative.txt', b'x')
    assert (tmp_path / 'relative.txt').read_bytes() == b'x'
    assert os.listdir(tmp_path) == ['relative.txt']


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary_file(tmp_path):
    target = tmp_path / 'server.key'
    target.write_bytes(b'old')
    with pytest.raises(TypeError):
        write_file_atomic(str(target), 'text, not bytes')
    assert target.read_bytes() == b'old'
    assert os.listdir(tmp_path) == ['server.key']


def test_a_directory_in_the_way_fails_and_leaves_no_temporary_file(tmp_path):
    (tmp_path / 'server.key').mkdir()
    (tmp_path / 'server.key' / 'inside').write_bytes(b'kept')
    with pytest.raises(IsADirectoryError):
        write_file_atomic(str(tmp_path / 'server.key'), b'key')
    assert os.listdir(tmp_path) == ['server.key']
    assert (tmp_path / 'server.key' / 'inside').read_bytes() == b'kept'


def test_an_interrupted_write_keeps_the_old_file_and_leaves_no_temporary_file(tmp_path, monkeypatch):
    target = tmp_path / 'server.key'
    target.write_bytes(b'old')

    def interrupted(fd):
        raise KeyboardInterrupt()
    monkeypatch.setattr(os, 'fsync', interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_file_atomic(str(target), b'new')
    monkeypatch.undo()
    assert target.read_bytes() == b'old'
    assert os.listdir(tmp_path) == ['server.key']


def test_a_missing_directory_fails_and_creates_nothing(tmp_path):
    with pytest.raises(FileNotFoundError):
        write_file_atomic(str(tmp_path / 'missing' / 'server.key'), b'key')
    assert os.listdir(tmp_path) == []


def test_a_write_leaves_no_descriptor_open(tmp_path):
    before = open_descriptors()
    write_file_atomic(str(tmp_path / 'a'), b'x')
    with pytest.raises(TypeError):
        write_file_atomic(str(tmp_path / 'b'), 'not bytes')
    assert open_descriptors() == before


# ---------------------------------------------------------------- remove_stale_temp_files

def test_an_old_unlocked_leftover_is_removed(tmp_path):
    target = str(tmp_path / 'server.key')
    stale = leftover(target)
    assert remove_stale_temp_files(target) == [stale]
    assert os.listdir(tmp_path) == []


def test_a_recent_leftover_is_kept(tmp_path):
    target = str(tmp_path / 'server.key')
    recent = leftover(target, age=HOUR - 60)
    assert remove_stale_temp_files(target) == []
    assert os.path.exists(recent)


def test_max_age_decides_what_is_old(tmp_path):
    target = str(tmp_path / 'server.key')
    young = leftover(target, age=120)
    assert remove_stale_temp_files(target, max_age=180) == []
    assert remove_stale_temp_files(target, max_age=60) == [young]


def test_a_leftover_whose_writer_holds_its_lock_is_kept(tmp_path):
    target = str(tmp_path / 'server.key')
    in_flight = leftover(target)
    with open(in_flight, 'rb') as writer:
        fcntl.flock(writer.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        assert remove_stale_temp_files(target) == []
        assert os.path.exists(in_flight)
    assert remove_stale_temp_files(target) == [in_flight]


def test_only_this_files_leftovers_are_removed(tmp_path):
    target = str(tmp_path / 'server.key')
    mine = leftover(target)
    others = [leftover(str(tmp_path / 'server.crt')), leftover(str(tmp_path / 'server.key.bak'))]
    for name in ('.server.key.ABCDEFGH.tmp', '.server.key.abc.tmp', '.server.key.abcdefghi.tmp', '.server.key.abcd-fgh.tmp',
                 'server.key.abcdefgh.tmp', '.server.key.abcdefgh.tmp.bak', '.server.key.abcdefgh', 'server.key'):
        (tmp_path / name).write_bytes(b'x')
        aged(str(tmp_path / name))
    kept = sorted(set(os.listdir(tmp_path)) - {os.path.basename(mine)})
    assert remove_stale_temp_files(target) == [mine]
    assert sorted(os.listdir(tmp_path)) == kept
    assert all(os.path.exists(path) for path in others)


def test_a_link_named_like_a_leftover_is_kept_and_its_target_untouched(tmp_path):
    target = str(tmp_path / 'server.key')
    victim = tmp_path / 'victim'
    victim.write_bytes(b'do not touch')
    aged(str(victim))
    link = tmp_path / '.server.key.abcdefgh.tmp'
    link.symlink_to(victim)
    aged(str(link))
    assert remove_stale_temp_files(target) == []
    assert link.is_symlink() and victim.read_bytes() == b'do not touch'


@pytest.mark.usefixtures('fails_within_five_seconds')
def test_a_fifo_or_directory_named_like_a_leftover_is_kept_without_blocking(tmp_path):
    target = str(tmp_path / 'server.key')
    fifo = str(tmp_path / '.server.key.fifo_xyz.tmp')
    os.mkfifo(fifo)
    directory = tmp_path / '.server.key.dir_abcd.tmp'
    directory.mkdir()
    aged(fifo)
    aged(str(directory))
    assert remove_stale_temp_files(target) == []
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode) and directory.is_dir()


def test_removing_leftovers_in_a_missing_directory_removes_nothing(tmp_path):
    assert remove_stale_temp_files(str(tmp_path / 'missing' / 'server.key')) == []


def test_a_write_after_a_killed_run_cleans_up_with_remove_stale_temp_files(tmp_path):
    target = str(tmp_path / 'server.key')
    stale = leftover(target)
    write_file_atomic(target, b'new')
    assert remove_stale_temp_files(target) == [stale]
    assert os.listdir(tmp_path) == ['server.key']


# ---------------------------------------------------------------- split_missing_directories

def test_split_missing_directories_lists_what_to_create_outermost_first(tmp_path):
    wanted = tmp_path / 'a' / 'b' / 'c'
    assert split_missing_directories(str(wanted)) == (
        [str(tmp_path / 'a'), str(tmp_path / 'a' / 'b'), str(wanted)], str(tmp_path))
    assert not (tmp_path / 'a').exists()


def test_split_missing_directories_of_an_existing_directory_is_nothing(tmp_path):
    assert split_missing_directories(str(tmp_path)) == ([], str(tmp_path))
    assert split_missing_directories(str(tmp_path) + '/') == ([], str(tmp_path))


def test_split_missing_directories_stops_at_a_file_in_the_way(tmp_path):
    (tmp_path / 'file').write_bytes(b'')
    assert split_missing_directories(str(tmp_path / 'file' / 'x' / 'y')) == (
        [str(tmp_path / 'file' / 'x'), str(tmp_path / 'file' / 'x' / 'y')], str(tmp_path / 'file'))


def test_split_missing_directories_stops_at_a_dangling_link(tmp_path):
    (tmp_path / 'link').symlink_to(tmp_path / 'nowhere')
    assert split_missing_directories(str(tmp_path / 'link' / 'x')) == ([str(tmp_path / 'link' / 'x')], str(tmp_path / 'link'))


def test_split_missing_directories_follows_a_link_to_a_directory(tmp_path):
    (tmp_path / 'real').mkdir()
    (tmp_path / 'link').symlink_to(tmp_path / 'real')
    assert split_missing_directories(str(tmp_path / 'link' / 'x')) == ([str(tmp_path / 'link' / 'x')], str(tmp_path / 'link'))


def test_split_missing_directories_of_a_relative_path_is_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert split_missing_directories(os.path.join('a', '..', 'b')) == ([str(tmp_path / 'b')], str(tmp_path))


# ---------------------------------------------------------------- read_regular_file

def test_a_regular_file_is_read_whole(tmp_path):
    path = tmp_path / 'server.crt'
    path.write_bytes(b'\x00binary\xff' * 10)
    assert read_regular_file(str(path), 1000) == b'\x00binary\xff' * 10


@pytest.mark.parametrize('size, limit', [(0, 0), (0, 10), (10, 10)])
def test_a_file_of_at_most_the_limit_is_read(tmp_path, size, limit):
    path = tmp_path / 'f'
    path.write_bytes(b'x' * size)
    assert read_regular_file(str(path), limit) == b'x' * size


@pytest.mark.parametrize('size, limit', [(11, 10), (1, 0), (10 * 1024 * 1024, 4096)])
def test_a_file_over_the_limit_is_refused_with_its_size(tmp_path, size, limit):
    path = tmp_path / 'f'
    with open(path, 'wb') as handle:
        handle.truncate(size)   # sparse: a huge file costs nothing
    with pytest.raises(FileRefused) as caught:
        read_regular_file(str(path), limit)
    assert (caught.value.reason, caught.value.size, str(caught.value)) == ('too_large', size, 'it has more than %d bytes' % limit)
    assert isinstance(caught.value, ValueError)


@pytest.mark.skipif(not os.path.exists('/proc/self/status'), reason='needs /proc')
def test_a_file_that_says_it_is_empty_but_is_not_is_cut_at_the_limit():
    """/proc files have st_size 0 and contents: the limit holds for what is read, not only for the size announced."""
    with pytest.raises(FileRefused) as caught:
        read_regular_file('/proc/self/status', 16, follow_links=True)
    assert (caught.value.reason, caught.value.size, str(caught.value)) == ('too_large', None, 'it has more than 16 bytes')


def test_a_link_is_refused_unless_links_are_followed(tmp_path):
    real = tmp_path / 'real.key'
    real.write_bytes(b'key')
    link = tmp_path / 'server.key'
    link.symlink_to(real)
    with pytest.raises(FileRefused) as caught:
        read_regular_file(str(link), 100)
    assert (caught.value.reason, caught.value.size, str(caught.value)) == (
        'link', None, 'it is a symbolic link, which is not followed')
    assert read_regular_file(str(link), 100, follow_links=True) == b'key'


def test_a_hard_link_is_refused_unless_links_are_followed(tmp_path):
    real = tmp_path / 'real.key'
    real.write_bytes(b'key')
    other = tmp_path / '.gitignore'
    os.link(str(real), str(other))
    for path in (real, other):   # neither name can tell it is the "real" one
        with pytest.raises(FileRefused) as caught:
            read_regular_file(str(path), 100)
        assert (caught.value.reason, caught.value.links, str(caught.value)) == (
            'hard_link', 2, 'it is a hard link (the same file has 2 names), which is not read')
    # a path the user gave, such as the key itself, may have other names: a key mounted from a secret store often has
    assert read_regular_file(str(other), 100, follow_links=True) == b'key'
    os.unlink(str(real))
    assert read_regular_file(str(other), 100) == b'key'


def test_hard_link_advice_quotes_the_path():
    assert _io.hard_link_advice('/p/my file') == (
        'If the file belongs here, give it a content of its own ("cp \'/p/my file\' \'/p/my file.copy\' && '
        'mv \'/p/my file.copy\' \'/p/my file\'"); else remove it')


def test_a_file_replaced_by_a_link_after_it_was_checked_is_refused_as_a_link(tmp_path, monkeypatch):
    real = tmp_path / 'real.key'
    real.write_bytes(b'someone else\'s key')
    link = tmp_path / 'server.key'
    link.symlink_to(real)
    checked = os.lstat(str(real))   # what the check saw: a regular file, before the swap
    lstat = os.lstat
    monkeypatch.setattr(os, 'lstat', lambda path, *args, **kwargs: checked if str(path) == str(link) else lstat(path, *args, **kwargs))
    with pytest.raises(FileRefused) as caught:
        read_regular_file(str(link), 100)
    assert (caught.value.reason, str(caught.value)) == ('link', 'it is a symbolic link, which is not followed')


def test_a_link_is_refused_where_the_system_has_no_o_nofollow(tmp_path, monkeypatch):
    (tmp_path / 'real.key').write_bytes(b'key')
    (tmp_path / 'server.key').symlink_to(tmp_path / 'real.key')
    monkeypatch.delattr(os, 'O_NOFOLLOW')
    with pytest.raises(FileRefused) as caught:
        read_regular_file(str(tmp_path / 'server.key'), 100)
    assert caught.value.reason == 'link'


def test_a_link_to_a_link_is_followed_to_the_end(tmp_path):
    (tmp_path / 'real').write_bytes(b'key')
    (tmp_path / 'one').symlink_to(tmp_path / 'real')
    (tmp_path / 'two').symlink_to(tmp_path / 'one')
    assert read_regular_file(str(tmp_path / 'two'), 100, follow_links=True) == b'key'


def test_a_dangling_link_is_refused_as_a_link_or_missing_when_followed(tmp_path):
    (tmp_path / 'dangling').symlink_to(tmp_path / 'nothing')
    with pytest.raises(FileRefused) as caught:
        read_regular_file(str(tmp_path / 'dangling'), 100)
    assert caught.value.reason == 'link'
    with pytest.raises(FileNotFoundError):
        read_regular_file(str(tmp_path / 'dangling'), 100, follow_links=True)


def test_a_link_loop_is_an_os_error_when_followed(tmp_path):
    (tmp_path / 'a').symlink_to(tmp_path / 'b')
    (tmp_path / 'b').symlink_to(tmp_path / 'a')
    with pytest.raises(FileRefused):
        read_regular_file(str(tmp_path / 'a'), 100)
    with pytest.raises(OSError):
        read_regular_file(str(tmp_path / 'a'), 100, follow_links=True)


@pytest.mark.parametrize('follow_links', [False, True])
def test_a_missing_file_is_file_not_found(tmp_path, follow_links):
    with pytest.raises(FileNotFoundError):
        read_regular_file(str(tmp_path / 'missing'), 100, follow_links=follow_links)


@pytest.mark.usefixtures('fails_within_five_seconds')
@pytest.mark.parametrize('follow_links', [False, True])
def test_a_fifo_is_refused_without_blocking(tmp_path, follow_links):
    fifo = str(tmp_path / 'server.key')
    os.mkfifo(fifo)
    with pytest.raises(FileRefused) as caught:
        read_regular_file(fifo, 100, follow_links=follow_links)
    assert (caught.value.reason, str(caught.value)) == ('not_regular', 'it is not a regular file')


@pytest.mark.usefixtures('fails_within_five_seconds')
def test_a_link_to_a_fifo_is_refused_without_blocking_when_followed(tmp_path):
    os.mkfifo(str(tmp_path / 'fifo'))
    (tmp_path / 'server.key').symlink_to(tmp_path / 'fifo')
    with pytest.raises(FileRefused) as caught:
        read_regular_file(str(tmp_path / 'server.key'), 100, follow_links=True)
    assert caught.value.reason == 'not_regular'


@pytest.mark.parametrize('follow_links', [False, True])
def test_a_directory_is_refused_as_not_a_regular_file(tmp_path, follow_links):
    with pytest.raises(FileRefused) as caught:
        read_regular_file(str(tmp_path), 100, follow_links=follow_links)
    assert (caught.value.reason, str(caught.value)) == ('not_regular', 'it is not a regular file')


@pytest.mark.usefixtures('fails_within_five_seconds')
@pytest.mark.parametrize('device', ['/dev/zero', '/dev/null', '/dev/urandom'])
def test_a_device_is_refused_without_reading_it(device):
    if not os.path.exists(device):
        pytest.skip('no %s here' % device)
    with pytest.raises(FileRefused) as caught:
        read_regular_file(device, 100, follow_links=True)
    assert caught.value.reason == 'not_regular'


@pytest.mark.usefixtures('fails_within_five_seconds')
def test_a_socket_is_an_os_error_at_once(tmp_path):
    path = str(tmp_path / 'agent.sock')
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(path)
        server.listen(1)
        with pytest.raises(OSError):
            read_regular_file(path, 100)


def test_a_refused_read_leaves_no_descriptor_open(tmp_path):
    big = tmp_path / 'big'
    big.write_bytes(b'x' * 100)
    os.mkfifo(str(tmp_path / 'fifo'))
    before = open_descriptors()
    for path, limit in ((big, 10), (tmp_path / 'fifo', 10), (tmp_path, 10), (big, 100)):
        try:
            read_regular_file(str(path), limit)
        except FileRefused:
            pass
    assert open_descriptors() == before


def test_file_refused_keeps_its_reason_and_size():
    error = FileRefused('too_large', 'it has more than 5 bytes', size=9)
    assert (error.reason, error.size, str(error), error.args) == ('too_large', 9, 'it has more than 5 bytes', ('it has more than 5 bytes',))
    assert _io.FileRefused('link', 'm').size is None


# ---------------------------------------------------------------- parse_json

@pytest.mark.parametrize('data, reason', [
    (b'[' * 100000 + b']' * 100000, 'arrays or objects nested too deeply to read'),
    ('{"a": ' * 100000, 'arrays or objects nested too deeply to read'),
    (b'{not json', 'Expecting property name enclosed in double quotes: line 1 column 2 (char 1)'),
    (b'\xff', "'utf-8' codec can't decode byte 0xff in position 0: invalid start byte"),
], ids=['arrays 100000 deep', 'objects 100000 deep', 'not json', 'not utf-8'])
def test_parse_json_names_the_source_and_the_problem(data, reason):
    with pytest.raises(_io.InvalidJson) as caught:
        _io.parse_json(data, '/p/x.json')
    assert (str(caught.value), caught.value.reason) == ('/p/x.json is not valid JSON (%s)' % reason, reason)


def test_parse_json_reads_bytes_and_text():
    assert _io.parse_json(b'{"a": [1]}', 'x') == _io.parse_json('{"a": [1]}', 'x') == {'a': [1]}
