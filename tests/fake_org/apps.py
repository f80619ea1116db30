# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The org's OAuth apps as the token endpoint sees them, over time, and the metadata components deploys saved.

Every consumer key has versions (effective_at, owner, App or None). find(consumer_key, now) answers with the
newest version whose effective_at <= now; None (no version in effect yet, or a key given up by a rotation) means
the token endpoint knows no such client. add_app and add_connected_app publish at once; a deploy publishes at its
completion time + propagation_delay, so until then the previous version (or nothing) answers, as Salesforce's
"changes to OAuth settings can take up to 10 minutes". An owner says who holds a key: 'api' (add_app),
'ExternalClientApplication:<name>' or 'ConnectedApp:<name>'.

An External Client App's version is built from its saved components: the global OAuth settings (consumer key,
certificate) and the OAuth policies (AdminApprovedPreAuthorized + commaSeparatedPermissionSet) that name it in
externalClientApplication. A Connected App's comes from its oauthConfig (consumerKey, certificate,
isAdminApproved) and permissionSetName elements.

Thread-safe: one lock guards the versions and the components.
"""

from __future__ import annotations

import math
import threading

from .identities import App, load_public_key, normalize_certificate
from .metadata import CONNECTED_APP, ECA, ECA_GLOBAL_OAUTH, ECA_OAUTH_POLICIES, as_list, split_names

API_OWNER = 'api'


def owner_of(metadata_type: str, name: str) -> str:
    return '%s:%s' % (metadata_type, name)


class OrgApps:
    def __init__(self):
        self._lock = threading.RLock()
        self._versions = {}     # consumer key -> [(effective_at, owner, App or None)], in publication order
        self._components = {}   # (type, full name) -> fields, the last saved last

    def clear(self) -> None:
        with self._lock:
            self._versions.clear()
            self._components.clear()

    # -- versions -------------------------------------------------------------------------------

    def register(self, app: App, owner: str = API_OWNER) -> App:
        """Replace every version of the app's key by this one, in effect at once."""
        with self._lock:
            self._versions[app.consumer_key] = [(-math.inf, owner, app)]
        return app

    def publish(self, consumer_key: str, owner: str, app: App | None, effective_at: float) -> None:
        with self._lock:
            self._versions.setdefault(consumer_key, []).append((effective_at, owner, app))

    def find(self, consumer_key, now: float) -> App | None:
        with self._lock:
            for effective_at, _owner, app in reversed(self._versions.get(consumer_key, [])):
                if effective_at <= now:
                    return app
            return None

    def effective(self, now: float) -> dict:
        with self._lock:
            found = {key: self.find(key, now) for key in self._versions}
        return {key: app for key, app in found.items() if app is not None}

    def owner(self, consumer_key: str) -> str | None:
        """Who holds the key (its latest version, in effect or not), or None when nobody does."""
        with self._lock:
            versions = self._versions.get(consumer_key)
            if not versions or versions[-1][2] is None:
                return None
            return versions[-1][1]

    def pending(self, now: float) -> list:
        """[(consumer key, seconds until its newest version takes effect)] of the changes not in effect yet."""
        with self._lock:
            return [(key, versions[-1][0] - now) for key, versions in self._versions.items() if versions[-1][0] > now]

    # -- components -----------------------------------------------------------------------------

    def component(self, metadata_type: str, name: str) -> dict | None:
        with self._lock:
            fields = self._components.get((metadata_type, name))
            return dict(fields) if fields is not None else None

    def names(self, metadata_type: str) -> list:
        with self._lock:
            return [name for kind, name in self._components if kind == metadata_type]

    def save_component(self, metadata_type: str, name: str, fields: dict) -> None:
        with self._lock:
            self._components.pop((metadata_type, name), None)
            self._components[(metadata_type, name)] = dict(fields)

    def linked(self, metadata_type: str, eca_name: str) -> tuple:
        """(full name, fields) of the last saved component of this type that belongs to the External Client App."""
        with self._lock:
            for (kind, name), fields in reversed(list(self._components.items())):
                if kind == metadata_type and fields.get('externalClientApplication') == eca_name:
                    return name, dict(fields)
            return None, None

    def eca_app(self, eca_name: str) -> App | None:
        """The App an External Client App's saved components make, or None without global OAuth settings."""
        with self._lock:
            if (ECA, eca_name) not in self._components:
                return None
            _name, settings = self.linked(ECA_GLOBAL_OAUTH, eca_name)
            _name, policy = self.linked(ECA_OAUTH_POLICIES, eca_name)
        if not settings or not settings.get('consumerKey'):
            return None
        policy = policy or {}
        return _app(settings['consumerKey'], settings.get('certificate'), owner_of(ECA, eca_name),
                    policy.get('permittedUsersPolicyType') == 'AdminApprovedPreAuthorized',
                    split_names(policy.get('commaSeparatedPermissionSet')))

    def connected_app(self, name: str) -> App | None:
        fields = self.component(CONNECTED_APP, name)
        oauth_config = (fields or {}).get('oauthConfig')
        if not isinstance(oauth_config, dict) or not oauth_config.get('consumerKey'):
            return None
        return _app(oauth_config['consumerKey'], oauth_config.get('certificate'), owner_of(CONNECTED_APP, name),
                    oauth_config.get('isAdminApproved') == 'true', as_list(fields.get('permissionSetName')))


def _app(consumer_key: str, certificate, source: str, admin_approved: bool, permission_sets: list) -> App:
    # Deploys check certificates; one that cannot be read leaves the app without a key ("invalid assertion").
    pem = public_key = None
    if isinstance(certificate, str) and certificate.strip():
        try:
            pem = normalize_certificate(certificate)
            public_key = load_public_key(pem)
        except ValueError:
            pem = public_key = None
    return App(consumer_key=consumer_key, certificate_pem=pem, public_key=public_key, admin_approved=admin_approved,
               permission_sets=frozenset(name for name in permission_sets if isinstance(name, str) and name), source=source)
