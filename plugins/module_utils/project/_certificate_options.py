# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module is private to this collection: its API may change without notice.

"""The certificate module's options and target paths, checked before anything is generated or written: subject fields
X.509 can hold, bounds that make sense, paths that are files in directories this user can write (or create)."""

from __future__ import annotations

import os
import re

from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._errors import InputError
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._io import split_missing_directories
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._x509 import CONTROL_CHARACTER_RE, SUBJECT_FIELDS

# Directories the module creates (create_directories=true) hold a private key: closed to others.
DIRECTORY_MODE = 0o700
# Far enough for any real use, and keeps not_after inside what datetime and X.509 can hold.
MAX_VALID_DAYS = 36500
# BestAvailableEncryption accepts 1 to 1023 bytes.
MAX_PASSPHRASE_BYTES = 1023
MAX_COMMON_NAME = 64
COUNTRY_RE = re.compile(r'[A-Za-z]{2}\Z')


def validate_options(params):
    """Check what the argument spec cannot express; raise InputError naming the option and the fix."""
    common_name = params.get('common_name') or ''
    if not common_name.strip():
        raise InputError('common_name is empty. Give the name the certificate is for, for example the integration name.')
    _check_subject_text(common_name, 'common_name')
    if len(common_name) > MAX_COMMON_NAME:
        raise InputError('common_name is %d characters long; X.509 allows at most %d.' % (len(common_name), MAX_COMMON_NAME))
    subject = params.get('subject') or {}
    for field, _attribute, limit in SUBJECT_FIELDS:
        value = subject.get(field)
        if value in (None, ''):
            continue
        _check_subject_text(value, 'subject.%s' % field)
        if field == 'C':
            if not COUNTRY_RE.match(value):
                raise InputError('subject.C must be a two-letter ISO 3166 country code such as US or DE, not "%s".' % value)
        elif len(value) > limit:
            raise InputError('subject.%s is %d characters long; X.509 allows at most %d.' % (field, len(value), limit))
        if field == 'emailAddress' and (not _is_ascii(value) or '@' not in value):
            raise InputError('subject.emailAddress "%s" is not an e-mail address (ASCII, with an @).' % value)
    valid_days = params.get('valid_days')
    if valid_days is None or valid_days < 1 or valid_days > MAX_VALID_DAYS:
        raise InputError('valid_days must be between 1 and %d, not %s.' % (MAX_VALID_DAYS, valid_days))
    renew_before_days = params.get('renew_before_days')
    if renew_before_days is None or renew_before_days < 0:
        raise InputError('renew_before_days must be 0 or more, not %s.' % renew_before_days)
    if renew_before_days >= valid_days:
        raise InputError('renew_before_days (%d) must be smaller than valid_days (%d), or every run would renew '
                         'the certificate. Lower renew_before_days or raise valid_days.' % (renew_before_days, valid_days))
    passphrase = params.get('private_key_passphrase')
    if passphrase and len(passphrase.encode('utf-8')) > MAX_PASSPHRASE_BYTES:
        raise InputError('private_key_passphrase is too long; at most %d bytes can be used.' % MAX_PASSPHRASE_BYTES)
    paths = [(name, params.get(name)) for name in ('private_key_path', 'certificate_path', 'csr_path') if params.get(name)]
    for index, (name, path) in enumerate(paths):
        for other_name, other_path in paths[index + 1:]:
            if os.path.abspath(path) == os.path.abspath(other_path):
                raise InputError('%s and %s are the same file (%s); give each its own path.' % (name, other_name, path))


def _check_subject_text(value, option):
    found = CONTROL_CHARACTER_RE.search(value)
    if found:
        raise InputError('%s holds the control character U+%04X at position %d; a certificate subject can only hold '
                         'printable text on one line. Remove it.' % (option, ord(found.group()), found.start() + 1))


def _is_ascii(value):
    try:
        value.encode('ascii')
    except UnicodeEncodeError:
        return False
    return True


def check_target_path(path, option, create_directories=False):
    """Fail early, before anything is written, when path cannot hold the file."""
    if os.path.isdir(path):
        raise InputError('%s %s is a directory. Give the path of a file, for example %s.'
                         % (option, path, os.path.join(path, 'salesforce.%s' % ('key' if option == 'private_key_path' else 'crt'))))
    if os.path.lexists(path) and not os.path.isfile(path):
        raise InputError('%s %s exists but is not a regular file. Remove it or choose another path.' % (option, path))
    directory = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(directory):
        return
    if not create_directories:
        raise InputError('The directory of %s, %s, does not exist or is not a directory. Set create_directories=true '
                         'to create it (0700), create it first (ansible.builtin.file with state=directory), or fix the '
                         'path.' % (option, directory))
    dummy, nearest = split_missing_directories(directory)
    if not os.path.isdir(nearest):
        raise InputError('The directory of %s, %s, cannot be created: %s exists and is not a directory. Fix the path.'
                         % (option, directory, nearest))


def check_writable(path, option):
    directory = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(directory):
        if not os.access(directory, os.W_OK | os.X_OK):
            raise InputError('Cannot write %s %s: the directory %s is not writable by this user. '
                             'Use become, or choose a directory this user can write to.' % (option, path, directory))
        return
    missing, nearest = split_missing_directories(directory)
    if not os.access(nearest, os.W_OK | os.X_OK):
        raise InputError('Cannot create the directory %s for %s %s: the directory %s is not writable by this user. '
                         'Use become, or choose a directory this user can write to.' % (missing[0], option, path, nearest))


def create_missing_directories(directory):
    """Create directory and its missing parents, each DIRECTORY_MODE whatever the umask."""
    for path in split_missing_directories(directory)[0]:
        try:
            os.mkdir(path, DIRECTORY_MODE)
        except FileExistsError:
            if os.path.isdir(path):
                continue  # made by a concurrent run meanwhile
            raise
        os.chmod(path, DIRECTORY_MODE)
