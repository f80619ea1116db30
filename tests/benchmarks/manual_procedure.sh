#!/usr/bin/env bash
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# The baseline: how users get a token today by hand, following Salesforce's JWT Bearer Flow steps
# (https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_jwt_flow.htm): header and claims
# base64url-encoded, signed with `openssl dgst -sha256 -sign`, POSTed with curl. No cache: every run is one
# token request.
# Prints the token endpoint's JSON answer (it holds the access token); fails unless it is a success.
#
# Usage: manual_procedure.sh CONSUMER_KEY USERNAME AUDIENCE PRIVATE_KEY_FILE TOKEN_HOST_URL CA_FILE
set -euo pipefail
[ $# -eq 6 ] || { echo "usage: $0 CONSUMER_KEY USERNAME AUDIENCE PRIVATE_KEY_FILE TOKEN_HOST_URL CA_FILE" >&2; exit 2; }
consumer_key=$1 username=$2 audience=$3 private_key=$4 token_host=$5 ca_file=$6

base64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }

header=$(printf '{"alg":"RS256"}' | base64url)
expires=$(( $(date +%s) + 180 ))
claims=$(printf '{"iss":"%s","sub":"%s","aud":"%s","exp":%d}' "$consumer_key" "$username" "$audience" "$expires" | base64url)
signature=$(printf '%s.%s' "$header" "$claims" | openssl dgst -sha256 -sign "$private_key" | base64url)

curl --silent --show-error --fail-with-body --cacert "$ca_file" \
    --request POST "$token_host/services/oauth2/token" \
    --header 'Content-Type: application/x-www-form-urlencoded' --header 'Accept: application/json' \
    --data-urlencode 'grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer' \
    --data-urlencode "assertion=$header.$claims.$signature"
