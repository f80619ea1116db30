# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module is private to this collection: its API may change without notice.

"""The doctor's causes of a refused login, likeliest first: Salesforce's words (the login refusal table of
_salesforce_facts) weighed with the evidence the checks before the login gathered."""

from __future__ import annotations

from ansible_collections.sfjwt.salesforce.plugins.module_utils.api._deploy import CONSUMER_SECRET_SWITCHES
from ansible_collections.sfjwt.salesforce.plugins.module_utils.doctor._doctor_report import Cause, places_to_set, source_words
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._salesforce_facts import (
    EXPERIENCE_CLOUD_AUDIENCE,
    PRODUCTION_AUDIENCE,
    SANDBOX_AUDIENCE,
    login_refusal,
)
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._x509 import colon_hex


def audience_source(identity, sources):
    """'derived from login_url', or where the audience was set ('set by the environment variable SFJWT_AUDIENCE')."""
    if identity.audience_derived:
        return 'derived from login_url'
    return 'set by %s' % source_words('audience', (sources or {}).get('audience'))


def audience_cause(identity, login_url, evidence, expected=None, sources=None):
    """The cause for an audience Salesforce refused (or that the host's kind shows to be wrong, ``expected``).
    ``sources``: where each setting came from (the action plugin's option_sources()), when known."""
    source = audience_source(identity, sources)
    if expected:
        return Cause('audience', '%s is %s, which needs the audience %s, but %s (%s) is sent.'
                     % (login_url, evidence.host_kind, expected, identity.audience, source),
                     'Set %s to %s.' % (places_to_set('audience'), expected))
    return Cause('audience', 'Salesforce at %s refused the audience %s (%s).' % (login_url, identity.audience, source),
                 'Set %s to %s for production and developer orgs, %s for sandboxes, or %s for Experience Cloud sites; '
                 'the audience is never the My Domain.' % (places_to_set('audience'), PRODUCTION_AUDIENCE, SANDBOX_AUDIENCE,
                                                           EXPERIENCE_CLOUD_AUDIENCE))


def login_causes(exc, identity, evidence, login_url, suspects_found, sources=None):
    """The likely causes of a refused login, likeliest first, from Salesforce's words and the evidence."""
    details = exc.details
    refusal = login_refusal(details.get('salesforce_error'), details.get('salesforce_error_description'))
    code = refusal.code if refusal else None
    suspects = {cause.code: cause for cause in suspects_found}
    causes = []
    if not details.get('status_code'):
        if exc.shareable:   # the request got no answer (an HttpError)
            return [Cause('network', exc.message, 'Fix the connection to the token host, then run the doctor again.')]
        # Not the network: the token cache (cache_dir), say, before any request was sent.
        return [Cause('settings', exc.message, 'Fix what the message names, then run the doctor again.')]
    if code == 'rate_limit':
        return [Cause('rate_limit', exc.message, 'Wait up to an hour; keep the token cache on so runs reuse tokens.')]
    if code == 'unknown_consumer_key':
        others = [key for key in evidence.project_consumer_keys if key != identity.consumer_key]
        if others and identity.consumer_key not in evidence.project_consumer_keys:
            causes.append(Cause('consumer_key', 'The consumer key %s is not the app\'s: the app in the project has %s.'
                                % (identity.consumer_key, ', '.join(others)),
                                'Set %s to %s.' % (places_to_set('consumer_key'), others[0])))
        if identity.consumer_key in evidence.project_consumer_keys:
            # The key is the project's own: the app was not deployed there, most often because a Setup switch is off.
            causes.append(Cause('consumer_key', 'Salesforce at %s does not know the consumer key %s (invalid_client_id), '
                                'the one of the app in the project: the app is not deployed in this org, or its deploy '
                                'failed.' % (login_url, identity.consumer_key),
                                'Deploy it (ansible-playbook sfjwt.salesforce.provision -e sfjwt_provision_deploy=true) and '
                                'read what the deploy says; check that %s is the org it was deployed to. Deploying its '
                                'consumer key and certificate needs Setup: %s An app deployed in the last 10 minutes may '
                                'not be known yet: run the doctor again then.'
                                % (places_to_set('login_url'), CONSUMER_SECRET_SWITCHES)))
        else:
            causes.append(Cause('consumer_key', 'Salesforce at %s does not know the consumer key %s (invalid_client_id).'
                                % (login_url, identity.consumer_key),
                                'Set %s to the Consumer Key of the app in this org, and check that %s is that org. An app '
                                'deployed in the last 10 minutes may not be known yet: run the doctor again then.'
                                % (places_to_set('consumer_key'), places_to_set('login_url'))))
    elif code == 'audience':
        causes.append(suspects.get('audience')
                      or audience_cause(identity, login_url, evidence, evidence.expected_audience, sources))
    elif code in ('not_approved', 'not_admin_approved'):
        if 'audience' in suspects:
            causes.append(suspects['audience'])
        causes.append(Cause('not_preauthorized', 'User %s is not pre-authorized for the app with consumer key %s (%s).'
                            % (identity.username, identity.consumer_key, details.get('salesforce_error_description')),
                            'In the app\'s OAuth policies, set Permitted Users to "Admin approved users are '
                            'pre-authorized" and assign %s a permission set (or profile) of the app; the provision '
                            'role does both.' % identity.username))
    elif code == 'invalid_assertion':
        if evidence.mismatched_certificates:
            causes.append(Cause('key_certificate_mismatch', 'The private key does not match the certificate: %s '
                                'belongs to another key.' % '; '.join(evidence.mismatched_certificates),
                                'Upload the certificate made from this key to the app (or deploy it: '
                                'ansible-playbook sfjwt.salesforce.rotate_certificate), or use the key that '
                                'certificate was made from.'))
        causes.append(Cause('key_certificate_mismatch', 'Salesforce could not verify the signature: the certificate '
                            'uploaded to the app is not the one of this key (public key SHA-256 %s).'
                            % colon_hex(bytes.fromhex(evidence.key_fingerprint)),
                            'Upload the certificate made from this key to the app (Use digital signatures), or use '
                            'the key the uploaded certificate was made from. A certificate deployed in the last 10 '
                            'minutes may not be used yet: run the doctor again then.'))
    elif code == 'expired_assertion':
        if 'clock_skew' in suspects:
            causes.append(suspects['clock_skew'])
        elif evidence.clock_skew is None:
            causes.append(Cause('expired_assertion', exc.message, 'The clocks could not be compared: check that this '
                                'machine\'s clock is synchronized (NTP, chrony or systemd-timesyncd).'))
        else:
            causes.append(Cause('expired_assertion', exc.message, 'Check for a proxy that delays requests by minutes.'))
    elif code == 'ip_restricted':
        causes.append(Cause('ip_restricted', exc.message, 'Add this machine\'s public IP address to the Login IP '
                            'Ranges of the user\'s profile, or relax IP restrictions in the app\'s policies.'))
    elif code == 'inactive_user':
        causes.append(Cause('inactive_user', exc.message, 'Activate the user, or use another username.'))
    elif code == 'inactive_org':
        causes.append(Cause('inactive_org', exc.message, 'Check that %s points at the right org.' % places_to_set('login_url')))
    else:
        causes.append(Cause('login_refused', exc.message, 'Read the message above; the checks before the login found '
                            'nothing wrong.'))
    # What else looked wrong before the login, after the causes Salesforce's answer points at.
    for suspect in suspects_found:
        if all(suspect.code != cause.code for cause in causes):
            causes.append(suspect)
    return causes
