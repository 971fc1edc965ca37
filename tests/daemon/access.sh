#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Access control with SO_PEERCRED: a caller that is not root, not the
# daemon's uid and not in --admin-gid may GET but not change state; a member
# of the admin group (supplementary) may. Needs root to act as other users.
. "$(dirname "$0")/lib.sh"
need_all
[ "$(id -u)" = 0 ] || skip "needs root to run curl as another uid"
command -v setpriv >/dev/null || skip "needs setpriv (util-linux)"
NOBODY=$(id -u nobody 2>/dev/null) || skip "needs the user nobody"
ADMIN_GID=4242
# The socket is 0666 here so that another uid can reach it at all; the
# default 0660 keeps others out at the file level.
chmod 0711 "$T"
start_daemon --socket-mode 0666 --admin-gid $ADMIN_GID

as() { # as GROUPS METHOD URI [curl args]
	local g=$1 m=$2 u=$3
	shift 3
	STATUS=$(setpriv --reuid="$NOBODY" --regid="$NOBODY" --groups="$g" \
		curl -s -o - -w '\n%{http_code}' --max-time 20 \
		--unix-socket "$SOCK" -X "$m" "$@" "http://localhost$u" |
		tee "$T/as.out" | tail -n 1)
	head -n -1 "$T/as.out" >"$T/body"
}

check "socket mode is 0666" [ "$(stat -c %a "$SOCK")" = 666 ]
as 1 GET /v1/vms
check "an ordinary uid may GET" [ "$STATUS" = 200 ]
as 1 POST /v1/vms -H 'Content-Type: application/json' -d '{"name":"x"}'
check "an ordinary uid may not POST (403)" [ "$STATUS" = 403 -a "$(body .error.code)" = forbidden ]
check "the 403 is logged with the uid" grep -q "POST /v1/vms (uid $NOBODY .*403 forbidden" "$DLOG"
as "1,$ADMIN_GID" POST /v1/vms -H 'Content-Type: application/json' -d '{"name":"x"}'
check "a member of --admin-gid may POST (201)" [ "$STATUS" = 201 ]
check "the audit line has the caller's uid" grep -q "audit: vm [0-9a-f]* (x): created by uid $NOBODY" "$DLOG"
wait_state x running 10 >/dev/null
as 1 DELETE /v1/vms/x
check "an ordinary uid may not DELETE" [ "$STATUS" = 403 ]
api DELETE /v1/vms/x
check "root may DELETE" [ "$STATUS" = 204 ]
finish
