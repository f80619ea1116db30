# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The setup objects behind pre-authorization: User, PermissionSet, PermissionSetAssignment, Organization.

Queryable with SOQL and readable by id like any record. Over REST only PermissionSetAssignment can be
inserted (POST /sobjects/PermissionSetAssignment {"AssigneeId", "PermissionSetId"}) and deleted; users
come from FakeOrg.add_user, permission sets from add_user and from deploys, the Organization row from
the org's settings. An insert is checked as Salesforce does:

  AssigneeId / PermissionSetId missing       400 REQUIRED_FIELD_MISSING
  not an id of the right type (005 / 0PS)    400 FIELD_INTEGRITY_EXCEPTION "Assignee ID: id value of incorrect type: ..."
  no such user / permission set              400 INVALID_CROSS_REFERENCE_KEY "invalid cross reference id"
  the user already holds the permission set  400 DUPLICATE_VALUE "Duplicate PermissionSetAssignment. Assignee: 005...;
                                                 Permission Set: 0PS..."
"""

from __future__ import annotations

import re

from .ids import ASSIGNMENT_ID_PREFIX, ORG_ID_PREFIX, PERMISSION_SET_ID_PREFIX, USER_ID_PREFIX
from .messages import RestError
from .records import Field, SObjectStore

# The fields the Salesforce CLI reads too (@salesforce/core's User REQUIRED_FIELDS; `org list users`); every user has
# the standard profile's locale settings of the org (en_US, GMT, UTF-8).
USER_FIELDS = (
    Field('Id', 'id', 18, updateable=False),
    Field('Username', 'string', 80, updateable=False),
    Field('Name', 'string', 121, updateable=False),
    Field('FirstName', 'string', 40, updateable=False),
    Field('LastName', 'string', 80, updateable=False),
    Field('Alias', 'string', 8, updateable=False),
    Field('Email', 'email', 128, updateable=False),
    Field('IsActive', 'boolean', updateable=False),
    Field('ProfileId', 'reference', 18, updateable=False),
    Field('TimeZoneSidKey', 'string', 40, updateable=False),
    Field('LocaleSidKey', 'string', 40, updateable=False),
    Field('LanguageLocaleKey', 'string', 40, updateable=False),
    Field('EmailEncodingKey', 'string', 40, updateable=False),
)
PERMISSION_SET_FIELDS = (
    Field('Id', 'id', 18, updateable=False),
    Field('Name', 'string', 80, updateable=False),
    Field('Label', 'string', 80, updateable=False),
    Field('Description', 'textarea', 255, updateable=False),
    Field('IsOwnedByProfile', 'boolean', updateable=False),
    Field('CreatedDate', 'datetime', updateable=False),
    Field('LastModifiedDate', 'datetime', updateable=False),
)
ASSIGNMENT_FIELDS = (
    Field('Id', 'id', 18, updateable=False),
    Field('AssigneeId', 'reference', 18, required=True),
    Field('PermissionSetId', 'reference', 18, required=True),
)
# The CLI reads Name, InstanceName, IsSandbox, TrialExpirationDate, NamespacePrefix, OrganizationType after every
# login (@salesforce/core determineOrg / Org.retrieveOrganizationInformation); the rest are the Organization
# object's common standard fields. TrialExpirationDate is null: the org is no trial.
ORGANIZATION_FIELDS = (
    Field('Id', 'id', 18, updateable=False),
    Field('Name', 'string', 80, updateable=False),
    Field('IsSandbox', 'boolean', updateable=False),
    Field('OrganizationType', 'string', 40, updateable=False),
    Field('InstanceName', 'string', 5, updateable=False),
    Field('NamespacePrefix', 'string', 15, updateable=False),
    Field('TrialExpirationDate', 'datetime', updateable=False),
    Field('Division', 'string', 80, updateable=False),
    Field('Country', 'string', 80, updateable=False),
    Field('DefaultLocaleSidKey', 'string', 40, updateable=False),
    Field('LanguageLocaleKey', 'string', 40, updateable=False),
    Field('TimeZoneSidKey', 'string', 40, updateable=False),
)

_ID = re.compile(r'^[0-9A-Za-z]{15}(?:[0-9A-Za-z]{3})?$')


def setup_stores() -> dict:
    """{object name: store} of the four setup objects, empty."""
    users = SObjectStore('User', USER_ID_PREFIX, USER_FIELDS, insertable=False, updateable=False, deletable=False)
    permission_sets = SObjectStore('PermissionSet', PERMISSION_SET_ID_PREFIX, PERMISSION_SET_FIELDS, insertable=False,
                                   updateable=False, deletable=False)

    def check_assignment(store, values):
        assignee = _reference(users, values.get('AssigneeId'), 'AssigneeId', 'Assignee ID')
        permission_set = _reference(permission_sets, values.get('PermissionSetId'), 'PermissionSetId', 'Permission Set ID')
        values['AssigneeId'], values['PermissionSetId'] = assignee, permission_set
        if store.find(AssigneeId=assignee, PermissionSetId=permission_set):
            raise RestError(400, 'DUPLICATE_VALUE', 'Duplicate PermissionSetAssignment. Assignee: %s; Permission Set: %s'
                            % (assignee, permission_set), [])

    assignments = SObjectStore('PermissionSetAssignment', ASSIGNMENT_ID_PREFIX, ASSIGNMENT_FIELDS, updateable=False,
                               soft_delete=False, on_insert=check_assignment)
    organization = SObjectStore('Organization', ORG_ID_PREFIX, ORGANIZATION_FIELDS, insertable=False, updateable=False,
                                deletable=False)
    return {store.name: store for store in (users, permission_sets, assignments, organization)}


def _reference(store: SObjectStore, value, field: str, label: str) -> str:
    """The 18-character id of the live record `value` names in `store`, or the error Salesforce answers."""
    if not isinstance(value, str) or not _ID.match(value) or not value.startswith(store.key_prefix):
        raise RestError(400, 'FIELD_INTEGRITY_EXCEPTION', '%s: id value of incorrect type: %s' % (label, value), [field])
    for record_id, record in store.records.items():
        if not record['IsDeleted'] and record_id[:15] == value[:15] and (len(value) == 15 or record_id == value):
            return record_id
    raise RestError(400, 'INVALID_CROSS_REFERENCE_KEY', 'invalid cross reference id', [field])
