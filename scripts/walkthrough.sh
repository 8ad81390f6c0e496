#!/usr/bin/env bash
# The Indigo API step by step with curl + jq: a token, an SSH key, the catalogue, an instance
# through its lifecycle, a firewall template, a snapshot and its restore, then everything
# removed again. Each request is printed before it is sent, each answer checked.
#
#   source ~/.local/share/aiiro/webarena_secret   # what `aiiro serve` keeps (its banner says where)
#   scripts/walkthrough.sh
#
# Reads AIIRO_ENDPOINT (default http://127.0.0.1:8080), IndigoApiKey and IndigoApiPrivateKey;
# WAIT_S bounds each wait for a state (default 120). Needs curl, jq and ssh-keygen. Meant for
# an aiiro server in its `fast` or `instant` profile; with the quota on (profile `faithful`,
# or the real service) it waits for the quota whenever the gateway answers 429.
# Exit status 0 and "walkthrough: N steps passed" when every answer is as expected.
set -euo pipefail

BASE=${AIIRO_ENDPOINT:-http://127.0.0.1:8080}
API=$BASE/webarenaIndigo/v1
WAIT_S=${WAIT_S:-120}
: "${IndigoApiKey:?set IndigoApiKey (source the credentials file that aiiro serve names)}"
: "${IndigoApiPrivateKey:?set IndigoApiPrivateKey}"
for tool in curl jq ssh-keygen; do
  command -v "$tool" >/dev/null || { echo "walkthrough: $tool is required" >&2; exit 2; }
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
steps=0
NAME="walkthrough-$$"

say() { printf '\n== %s\n' "$*"; }
fail() { echo "walkthrough: FAILED: $*" >&2; exit 1; }

# call METHOD URL [BODY]: prints the request, sends it, leaves the answer in $body and the
# status in $status. A 429 from the gateway (the 6-a-minute quota) is waited out, then sent
# again.
call() {
  local method=$1 url=$2 data=${3:-}
  local args=(-sS -X "$method" "$url" -w '\n%{http_code}' -D "$work/headers")
  [ -n "${TOKEN:-}" ] && args+=(-H "Authorization: Bearer $TOKEN")
  [ -n "$data" ] && args+=(-H 'Content-Type: application/json' -d "$data")
  echo "\$ curl -X $method $url${data:+ -d '$data'}"
  while true; do
    local out
    out=$(curl "${args[@]}")
    status=${out##*$'\n'}
    body=${out%$'\n'*}
    [ "$status" = 429 ] || break
    local reset now wait
    reset=$(tr -d '\r' <"$work/headers" | awk -F': ' 'tolower($1)=="x-quota-reset"{print $2}')
    now=$(date +%s%3N)
    wait=$(( ${reset:-$((now + 60000))} > now ? (${reset:-$((now + 60000))} - now) / 1000 + 1 : 1 ))
    echo "   waiting ${wait} s for the API quota (6 requests a minute)" >&2
    sleep "$wait"
  done
  echo "   -> $status $(printf '%s' "$body" | head -c 300)"
}

# expect STATUS JQ-FILTER WHAT: the last answer has this status and the filter prints true.
expect() {
  [ "$status" = "$1" ] || fail "$3: HTTP $status, expected $1: $body"
  [ "$(printf '%s' "$body" | jq -r "$2")" = true ] || fail "$3: $body"
  steps=$((steps + 1))
  echo "   ok: $3"
}

# not_busy METHOD URL BODY: call, again every second while the instance is still carrying
# out an earlier command (aiiro's A4018: "Try again shortly").
not_busy() {
  local deadline=$((SECONDS + WAIT_S))
  while :; do
    call "$@"
    [ "$(printf '%s' "$body" | jq -r '.errorCode? // empty')" = A4018 ] || return 0
    [ $SECONDS -lt $deadline ] || fail "still busy after ${WAIT_S} s"
    sleep 1
  done
}

instance() { # the instance's entry in getinstancelist, or nothing once it is gone
  call GET "$API/vm/getinstancelist" >/dev/null
  printf '%s' "$body" | jq -c --argjson id "$1" '.[] | select(.id == $id)'
}

wait_for() { # wait_for ID INSTANCESTATUS ("gone": until it leaves the list)
  local deadline=$((SECONDS + WAIT_S)) now
  echo "   waiting for instance $1: $2"
  while [ $SECONDS -lt $deadline ]; do
    now=$(instance "$1" | jq -r '.instancestatus // empty')
    if [ "$2" = gone ]; then [ -z "$now" ] && break; elif [ "$now" = "$2" ]; then break; fi
    sleep 1
  done
  [ $SECONDS -lt $deadline ] || fail "instance $1 is still '$now', not $2 after ${WAIT_S} s"
  steps=$((steps + 1))
  echo "   ok: instance $1 is $2"
}

say "1. An access token from the API key and secret (it lives 3599 s)"
call POST "$BASE/oauth/v1/accesstokens" \
  "{\"grantType\":\"client_credentials\",\"clientId\":\"$IndigoApiKey\",\"clientSecret\":\"$IndigoApiPrivateKey\",\"code\":\"\"}"
expect 201 '.tokenType == "BearerToken" and .expiresIn == "3599"' "token issued"
TOKEN=$(printf '%s' "$body" | jq -r .accessToken)

say "2. An SSH key: RSA, without the trailing comment (Indigo refuses ed25519 and comments)"
ssh-keygen -q -t rsa -b 2048 -N '' -C '' -f "$work/id_rsa"
PUB=$(cut -d' ' -f1,2 "$work/id_rsa.pub")
call POST "$API/vm/sshkey" "{\"sshName\":\"$NAME\",\"sshKey\":\"$PUB\"}"
expect 201 '.success and .sshKey.status == "ACTIVE"' "key registered"
KEY_ID=$(printf '%s' "$body" | jq -r .sshKey.id)

say "3. The catalogue: plans, regions, images"
call GET "$API/vm/instancetypes"
expect 200 '.success and (.instanceTypes | length > 0)' "instance types"
TYPE_ID=$(printf '%s' "$body" | jq -r '.instanceTypes[0].id')
call GET "$API/vm/getregion?instanceTypeId=$TYPE_ID"
expect 200 '.success and (.regionlist | length > 0)' "regions"
REGION_ID=$(printf '%s' "$body" | jq -r '.regionlist[0].id')
call GET "$API/vm/oslist?instanceTypeId=$TYPE_ID"
expect 200 '.success and (.osCategory | length > 0)' "images"
OS_ID=$(printf '%s' "$body" | jq -r '[.osCategory[].osLists[] | select(.name | test("Ubuntu|Debian"))][0].id')
call GET "$API/vm/getinstancespec?instanceTypeId=$TYPE_ID&osId=$OS_ID"
expect 200 '.success and (.speclist | length > 0)' "plans for that image"
PLAN_ID=$(printf '%s' "$body" | jq -r '.speclist[0].id')

say "4. An instance: created READY, installing, then Stopped"
call POST "$API/vm/createinstance" \
  "{\"sshKeyId\":$KEY_ID,\"regionId\":$REGION_ID,\"osId\":$OS_ID,\"instancePlan\":$PLAN_ID,\"instanceName\":\"$NAME\"}"
expect 201 '.success and .vms.status == "READY"' "instance created"
ID=$(printf '%s' "$body" | jq -r .vms.id)
wait_for "$ID" Stopped

say "5. Start it (start is not idempotent: a second one is I10016)"
call POST "$API/vm/instance/statusupdate" "{\"instanceId\":\"$ID\",\"status\":\"start\"}"
expect 200 '.success and .instanceStatus == "running"' "start accepted"
call POST "$API/vm/instance/statusupdate" "{\"instanceId\":\"$ID\",\"status\":\"start\"}"
expect 400 '.errorCode == "I10016"' "a second start is refused"
wait_for "$ID" Running

say "6. A firewall template admitting SSH from one address, assigned to the instance"
call POST "$API/nw/createfirewall" \
  "{\"name\":\"$NAME\",\"inbound\":[{\"type\":\"Custom\",\"protocol\":\"TCP\",\"port\":\"22\",\"source\":\"203.0.113.5\"}],\"outbound\":[]}"
expect 200 '.success and (.firewallId | type == "number")' "template created"
FW_ID=$(printf '%s' "$body" | jq -r .firewallId)
call POST "$API/nw/assign" "{\"instanceid\":\"$ID\",\"templateid\":\"$FW_ID\"}"
expect 200 '.success' "template assigned"
call GET "$API/nw/gettemplate/$FW_ID"
expect 200 'length == 1 and .[0].port == "22" and .[0].direction == "in"' "its rules"

say "7. Stop it (asynchronous: I10025, then Stopped a while later)"
call POST "$API/vm/instance/statusupdate" "{\"instanceId\":\"$ID\",\"status\":\"stop\"}"
expect 200 '.success == false and .sucessCode == "I10025"' "stop initiated (success false, sucessCode sic)"
wait_for "$ID" Stopped

say "8. A snapshot of the disk, then a restore (the instance must be stopped)"
call POST "$API/disk/takesnapshot" "{\"name\":\"$NAME\",\"instanceid\":$ID,\"slotnum\":\"0\"}"
expect 200 '.STATUS == 0' "snapshot taken (no id in the answer)"
deadline=$((SECONDS + WAIT_S))
while :; do
  call GET "$API/disk/snapshotlist/$ID" >/dev/null
  [ "$(printf '%s' "$body" | jq -r '.[0].status')" = created ] && break
  [ $SECONDS -lt $deadline ] || fail "the snapshot did not reach created: $body"
  sleep 1
done
expect 200 '.[0].status == "created" and (.[0].size | test("^[0-9]+$"))' "snapshot created"
SNAP_ID=$(printf '%s' "$body" | jq -r '.[0].id')
call POST "$API/disk/restoresnapshot" "{\"instanceid\":\"$ID\",\"snapshotid\":\"$SNAP_ID\"}"
expect 200 '.STATUS == 0' "restore accepted"
wait_for "$ID" Stopped

say "9. Start it again: while the disk is put back, a command answers A4018, try again"
not_busy POST "$API/vm/instance/statusupdate" "{\"instanceId\":\"$ID\",\"status\":\"start\"}"
expect 200 '.success and .instanceStatus == "running"' "start accepted"
wait_for "$ID" Running

say "10. Force it off (at once, unlike stop), then clean up: the instance leaves the list"
call POST "$API/vm/instance/statusupdate" "{\"instanceId\":\"$ID\",\"status\":\"forcestop\"}"
expect 200 '.success and .instanceStatus == "shutoff"' "forcestop accepted"
wait_for "$ID" Stopped
call DELETE "$API/disk/deletesnapshot/$SNAP_ID"
expect 200 '.STATUS == 0' "snapshot deleted"
not_busy POST "$API/vm/instance/statusupdate" "{\"instanceId\":\"$ID\",\"status\":\"destroy\"}"
expect 200 '.success and .sucessCode == "I20010"' "destroy accepted"
wait_for "$ID" gone
call DELETE "$API/nw/deletefirewall/$FW_ID"
expect 200 '.success' "template deleted"
call DELETE "$API/vm/sshkey/$KEY_ID"
expect 200 '.success' "key deleted"

echo
echo "walkthrough: $steps steps passed against $BASE"
