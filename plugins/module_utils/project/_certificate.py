# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module is private to this collection: its API may change without notice.

"""Backend of the certificate module: decide what must be (re)generated, then write key, certificate and CSR.

Decisions are made before anything is written, so check mode predicts the real run and a failure writes nothing. The
options and target paths are checked first, in _certificate_options.
"""

from __future__ import annotations

import base64
import datetime
import os
import stat
from types import SimpleNamespace

from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._errors import InputError
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._io import (
    read_regular_file,
    remove_stale_temp_files,
    write_file_atomic,
)
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._keys import (
    load_rsa_private_key,
    public_key_fingerprint,
)
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._x509 import (
    HAS_CRYPTOGRAPHY,
    SUBJECT_FIELDS,
    belongs_to_key,
    certificate_fingerprint,
    describe_name,
    iso8601,
    load_certificate,
    names_equal,
    not_after,
    not_before,
    utc_now,
)
from ansible_collections.sfjwt.salesforce.plugins.module_utils.project._certificate_options import (
    check_target_path,
    check_writable,
    create_missing_directories,
    validate_options,
)

if HAS_CRYPTOGRAPHY:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

KEY_SIZES = (2048, 3072, 4096)
DEFAULT_KEY_MODE = 0o600
DEFAULT_PUBLIC_MODE = 0o644
# A key, certificate or CSR is a few kilobytes; what is at a managed path is read only up to this size.
MAX_MANAGED_FILE_BYTES = 1024 * 1024

REPLACE_KEY_HINT = ('The existing key was left untouched. Setting regenerate_key=true replaces it with a new key '
                    '(the old one is kept as a backup), which breaks the Salesforce app binding until the new '
                    'certificate is uploaded to the app.')


def _capitalize(text):
    return text[:1].upper() + text[1:]


# ---------------------------------------------------------------- names

def build_subject(common_name, subject=None):
    """The X.509 name, in the order `openssl req` uses: C, ST, L, O, OU, CN, emailAddress. Empty values are left out."""
    subject = subject or {}
    attributes = []
    for field, attribute, _limit in SUBJECT_FIELDS:
        if field == 'emailAddress':
            attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
        value = subject.get(field)
        if value not in (None, ''):
            attributes.append(x509.NameAttribute(getattr(NameOID, attribute), value))
    return x509.Name(attributes)


# ---------------------------------------------------------------- keys, certificates, CSRs

def generate_private_key(key_size):
    return rsa.generate_private_key(public_exponent=65537, key_size=key_size)


def private_key_pem(key, passphrase=None):
    """PKCS #8 PEM; encrypted with the best scheme cryptography offers when a passphrase is given."""
    if passphrase:
        encryption = serialization.BestAvailableEncryption(passphrase.encode('utf-8'))
    else:
        encryption = serialization.NoEncryption()
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)


def build_certificate(key, subject, valid_days, now):
    """Self-signed, SHA-256. An end-entity certificate (CA:FALSE); it still verifies against itself with openssl."""
    public_key = key.public_key()
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=valid_days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public_key), critical=False)
    )
    return builder.sign(key, hashes.SHA256())


def build_csr(key, subject):
    return x509.CertificateSigningRequestBuilder().subject_name(subject).sign(key, hashes.SHA256())


def load_csr(data):
    try:
        return x509.load_pem_x509_csr(data)
    except Exception:
        return None


def certificate_facts(cert):
    """What the module returns about a certificate (nothing secret)."""
    der = cert.public_bytes(serialization.Encoding.DER)
    return {
        'certificate': cert.public_bytes(serialization.Encoding.PEM).decode('ascii'),
        # Salesforce metadata (ConnectedApp / certificate content) stores the bare base64 body.
        'certificate_body': base64.b64encode(der).decode('ascii'),
        'fingerprint_sha256': certificate_fingerprint(cert),
        'serial_number': cert.serial_number,
        'not_before': iso8601(not_before(cert)),
        'not_after': iso8601(not_after(cert)),
    }


def certificate_renewal_reason(cert, key, subject, valid_days, renew_before_days, now):
    """Why a new certificate is needed for this key and these options, or None when cert can be kept."""
    if not belongs_to_key(cert.public_key(), key):
        return 'it does not belong to the private key'
    if not names_equal(cert.subject, subject):
        return 'its subject is %s, the options ask for %s' % (describe_name(cert.subject), describe_name(subject))
    span_days = round((not_after(cert) - not_before(cert)).total_seconds() / 86400)
    if span_days != valid_days:
        return 'it is valid for %d days, valid_days is %d' % (span_days, valid_days)
    if not_after(cert) - now <= datetime.timedelta(days=renew_before_days):
        return 'it expires on %s, within renew_before_days (%d)' % (iso8601(not_after(cert)), renew_before_days)
    return None


def csr_renewal_reason(csr, key, subject):
    if not csr.is_signature_valid:
        return 'its signature does not verify'
    if not belongs_to_key(csr.public_key(), key):
        return 'it does not belong to the private key'
    if not names_equal(csr.subject, subject):
        return 'its subject is %s, the options ask for %s' % (describe_name(csr.subject), describe_name(subject))
    return None


def assess_private_key(pem, passphrase, key_size, regenerate_key, path):
    """Decide about an existing key file's content.

    Returns (key, reason): key is the loaded key (None when unusable), reason says why a new key is made
    (None: keep it). Raises InputError when the key must be kept but cannot be used with these options.
    """
    try:
        key = load_rsa_private_key(pem, passphrase, source='the private key %s' % path)
    except InputError as exc:
        if regenerate_key:
            return None, 'regenerate_key=true (the existing key could not be used: %s)' % exc
        exc.message = _capitalize(exc.message)
        raise exc.add_context(after=' ' + REPLACE_KEY_HINT)
    if regenerate_key:
        return key, 'regenerate_key=true'
    if key.key_size != key_size:
        raise InputError('The private key %s is a %d-bit RSA key, but key_size is %d. Set key_size to %d to keep '
                         'using it. %s' % (path, key.key_size, key_size, key.key_size, REPLACE_KEY_HINT))
    return key, None


def key_summary(key, encrypted):
    return {'key_size': key.key_size, 'encrypted': encrypted, 'public_key_sha256': public_key_fingerprint(key)}


def certificate_summary(cert):
    facts = certificate_facts(cert)
    summary = {'subject': describe_name(cert.subject)}
    summary.update((name, facts[name]) for name in ('serial_number', 'fingerprint_sha256', 'not_before', 'not_after'))
    return summary


# ---------------------------------------------------------------- the module run

def _keep_ownership(path, previous):
    """A rewritten file keeps its owner and group (as root can); explicit owner/group are applied afterwards."""
    current = os.stat(path)
    if (current.st_uid, current.st_gid) == (previous.st_uid, previous.st_gid):
        return
    try:
        os.chown(path, previous.st_uid, previous.st_gid)
    except PermissionError:
        pass  # not root: the file belongs to the user who wrote it, as with any other write


class _FileState:
    """One managed file: what is there now and what this run does with it."""

    def __init__(self, path, option, default_mode):
        self.path = path
        self.option = option
        self.default_mode = default_mode
        self.exists = os.path.exists(path)
        self.final_mode = default_mode
        self.reason = None       # why it is (re)written; None: kept
        self.before = None       # summary for the diff
        self.backup_file = None

    @property
    def rewrite(self):
        return self.reason is not None

    def read(self):
        try:
            return read_regular_file(self.path, MAX_MANAGED_FILE_BYTES, follow_links=True)
        except ValueError as exc:   # FileRefused: a FIFO, a device, a directory, a huge file
            raise InputError('Cannot read %s %s: %s. It must be a PEM file (this module writes one there); remove '
                             'what is there or choose another path.' % (self.option, self.path, exc)) from None
        except OSError as exc:
            raise InputError('Cannot read %s %s: %s. Fix its permissions or use become.'
                             % (self.option, self.path, exc.strerror or exc)) from None


class CertificateBackend:
    """Runs the certificate module against an AnsibleModule (or anything with the same few methods)."""

    def __init__(self, module, now=None):
        self.module = module
        self.params = module.params
        self.now = now or utc_now()
        self.passphrase = self.params.get('private_key_passphrase') or None
        self.subject = None
        self.key = None
        self.cert = None
        self.key_file = self.cert_file = self.csr_file = None
        self.files = []

    # -- decide

    def assess(self):
        params = self.params
        validate_options(params)
        self.subject = build_subject(params['common_name'], params.get('subject'))
        self.key_file = _FileState(params['private_key_path'], 'private_key_path', DEFAULT_KEY_MODE)
        self.cert_file = _FileState(params['certificate_path'], 'certificate_path', DEFAULT_PUBLIC_MODE)
        self.csr_file = _FileState(params['csr_path'], 'csr_path', DEFAULT_PUBLIC_MODE) if params.get('csr_path') else None
        self.files = [state for state in (self.key_file, self.cert_file, self.csr_file) if state]
        for state in self.files:
            check_target_path(state.path, state.option, params.get('create_directories'))
            state.final_mode = self._final_mode(state)
        self._assess_key()
        self._assess_certificate()
        if self.csr_file:
            self._assess_csr()
        for state in self.files:
            if state.rewrite:
                check_writable(state.path, state.option)

    def _final_mode(self, state):
        mode = self.params.get('mode')
        if mode is None:
            final = state.default_mode
        elif isinstance(mode, int):
            final = mode
        else:
            try:
                final = int(mode, 8)
            except ValueError:
                if state.exists:
                    path_stat = os.stat(state.path)
                else:
                    path_stat = SimpleNamespace(st_mode=stat.S_IFREG | state.default_mode)
                try:
                    final = self.module._symbolic_mode_to_octal(path_stat, mode)
                except Exception:
                    raise InputError('mode "%s" is neither an octal mode such as 0640 nor a symbolic mode such as u=rw,g=r.' % mode) from None
        if final != stat.S_IMODE(final):
            raise InputError('mode "%s" holds more than permission bits; give a mode such as 0640.' % mode)
        if state is self.key_file and final & 0o007:
            raise InputError('mode %04o would let every user on the host read or change the private key %s. Leave mode '
                             'unset (key 0600, certificate and CSR 0644) or give a mode without permissions for others, '
                             'such as 0640.' % (final, state.path))
        return final

    def _assess_key(self):
        params, state = self.params, self.key_file
        if not state.exists:
            state.reason = 'the file does not exist'
            return
        key, state.reason = assess_private_key(state.read(), self.passphrase, params['key_size'], params['regenerate_key'], state.path)
        if key is not None:
            state.before = key_summary(key, encrypted=bool(self.passphrase))
        else:
            state.before = {'usable': False}
        if not state.reason:
            self.key = key

    def _assess_certificate(self):
        params, state = self.params, self.cert_file
        cert = None
        if state.exists:
            cert = load_certificate(state.read())
            if cert is not None:
                state.before = certificate_summary(cert)
            else:
                state.before = {'usable': False}
        if not state.exists:
            state.reason = 'the file does not exist'
        elif cert is None:
            state.reason = 'the file does not hold a PEM certificate'
        elif self.key_file.rewrite:
            state.reason = 'a new private key is generated'
        elif params['force']:
            state.reason = 'force=true'
        else:
            state.reason = certificate_renewal_reason(cert, self.key, self.subject, params['valid_days'],
                                                      params['renew_before_days'], self.now)
        if not state.rewrite:
            self.cert = cert

    def _assess_csr(self):
        state = self.csr_file
        csr = None
        if state.exists:
            csr = load_csr(state.read())
            state.before = {'subject': describe_name(csr.subject)} if csr is not None else {'usable': False}
        if not state.exists:
            state.reason = 'the file does not exist'
        elif csr is None:
            state.reason = 'the file does not hold a PEM certificate signing request'
        elif self.key_file.rewrite:
            state.reason = 'a new private key is generated'
        else:
            state.reason = csr_renewal_reason(csr, self.key, self.subject)

    # -- act

    def run(self):
        """Assess, then (unless in check mode) back up and write; returns the module result."""
        self.assess()
        changed = any(state.rewrite for state in self.files)
        if not self.module.check_mode and changed:
            self._backup()
            self._write()
        if not self.module.check_mode:
            for state in self.files:
                remove_stale_temp_files(state.path)
        diffs = []
        for state in self.files:
            diff = self._diff_for(state)
            if state.exists or not self.module.check_mode:
                file_args = self.module.load_file_common_arguments(self.params, path=state.path)
                file_args['mode'] = state.final_mode
                if self.module.check_mode and state.rewrite:
                    pass  # reported as changed already; attributes are applied when the file is written
                elif self.module.set_fs_attributes_if_different(file_args, False, diff=diff):
                    changed = True
            if diff['before'] != diff['after']:
                diffs.append(diff)
        result = {
            'changed': changed,
            'private_key_path': self.key_file.path,
            'certificate_path': self.cert_file.path,
            'csr_path': self.csr_file.path if self.csr_file else None,
        }
        if self.cert is not None:
            result.update(certificate_facts(self.cert))
        else:  # check mode, a new certificate would be issued: there is nothing true to report yet
            result.update(dict.fromkeys(('certificate', 'certificate_body', 'fingerprint_sha256', 'serial_number',
                                         'not_before', 'not_after')))
        for state, name in ((self.key_file, 'private_key_backup_file'), (self.cert_file, 'certificate_backup_file'),
                            (self.csr_file, 'csr_backup_file')):
            if state is not None and state.backup_file:
                result[name] = state.backup_file
        if self.module._diff:
            result['diff'] = diffs
        return result

    def _backup(self):
        if self.key_file.rewrite and self.key_file.exists:
            # Losing the key breaks the app binding: the whole old set is always kept.
            wanted = [state for state in self.files if state.exists]
        elif self.params['backup']:
            wanted = [state for state in self.files if state.exists and state.rewrite]
        else:
            wanted = []
        # The copy is created before its mode is copied: a strict umask keeps a key copy private meanwhile.
        old_umask = os.umask(0o077)
        try:
            for state in wanted:
                try:
                    state.backup_file = self.module.backup_local(state.path)
                except Exception as exc:
                    raise InputError('Could not back up %s %s (%s); nothing was changed.' % (state.option, state.path, exc)) from None
        finally:
            os.umask(old_umask)

    def _write(self):
        params = self.params
        written = []
        contents = []
        for state in self.files:
            if state.rewrite and params.get('create_directories'):
                directory = os.path.dirname(os.path.abspath(state.path))
                try:
                    create_missing_directories(directory)
                except OSError as exc:
                    raise InputError('Creating the directory %s for %s %s failed: %s. No file was written; run the task '
                                     'again once the problem is fixed.' % (directory, state.option, state.path, exc.strerror or exc)) from None
        if self.key_file.rewrite:
            self.key = generate_private_key(params['key_size'])
            contents.append((self.key_file, private_key_pem(self.key, self.passphrase)))
        if self.cert_file.rewrite:
            self.cert = build_certificate(self.key, self.subject, params['valid_days'], self.now)
            contents.append((self.cert_file, self.cert.public_bytes(serialization.Encoding.PEM)))
        if self.csr_file and self.csr_file.rewrite:
            csr = build_csr(self.key, self.subject)
            contents.append((self.csr_file, csr.public_bytes(serialization.Encoding.PEM)))
        for state, data in contents:
            try:
                previous = os.stat(state.path) if state.exists else None
                write_file_atomic(state.path, data, mode=state.final_mode)
                if previous is not None:
                    _keep_ownership(state.path, previous)
            except (IOError, OSError) as exc:
                done = ', '.join(written) or 'none'
                raise InputError('Writing %s %s failed: %s. Files already written in this run: %s; run the task '
                                 'again once the problem is fixed.' % (state.option, state.path, exc.strerror or exc, done)) from None
            written.append(state.path)

    def _after(self, state):
        if not state.rewrite:
            return state.before
        if state is self.key_file:
            if self.key is not None and not self.module.check_mode:
                return key_summary(self.key, encrypted=bool(self.passphrase))
            return {'key_size': self.params['key_size'], 'encrypted': bool(self.passphrase), 'public_key_sha256': '(new key)'}
        if state is self.cert_file:
            if self.cert is not None:
                return certificate_summary(self.cert)
            return {'subject': describe_name(self.subject), 'serial_number': '(new)', 'fingerprint_sha256': '(new)',
                    'not_before': iso8601(self.now),
                    'not_after': iso8601(self.now + datetime.timedelta(days=self.params['valid_days']))}
        return {'subject': describe_name(self.subject)}

    def _diff_for(self, state):
        header = state.path
        if state.rewrite:
            verb = 'create' if not state.exists else 'replace'
            header = '%s (%s: %s)' % (state.path, verb, state.reason)
        return {
            'before_header': state.path,
            'after_header': header,
            'before': dict(state.before or {'exists': False}) if state.exists else {'exists': False},
            'after': dict(self._after(state)),
        }
