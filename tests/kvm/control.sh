#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The VMM's control socket against a running guest that prints "TICK n"
# every 50 ms: GET state, pause (ticks stop), a second pause is 409, resume
# (ticks go on), the console ring, stop (exit 0).
. "$(dirname "$0")/lib.sh"
need_kvm
need_tool curl curl
need_tool jq jq
need_tool socat socat

API=$T/api.sock
api() {
	curl -s --max-time 5 --unix-socket "$API" -o "$T/body" \
		-w '%{http_code}' -X "$1" "http://vmm$2"
}
last_tick() { grep -a '^TICK ' "$SERIAL" | tail -n 1 | cut -d' ' -f2; }

start_vmm --memory 64 --api-socket "$API" --cmdline "test=ticks secs=60"
wait_serial '^TICK 3$' 20 || err "guest never printed TICK 3"
code=$(api GET /v1/vm)
state=$(jq -r .state "$T/body" 2>/dev/null)
[ "$code" = 200 ] && [ "$state" = running ] ||
	err "GET /v1/vm: $code state '$state', expected 200 running"
code=$(api PUT /v1/vm/pause)
[ "$code" = 204 ] || err "PUT /v1/vm/pause: $code, expected 204"
sleep 0.3
a=$(last_tick)
sleep 1
b=$(last_tick)
echo "paused: TICK $a, 1 s later TICK $b"
[ "$a" = "$b" ] || err "guest kept running while paused (TICK $a -> $b)"
api GET /v1/vm >/dev/null
state=$(jq -r .state "$T/body" 2>/dev/null)
[ "$state" = paused ] || err "state '$state' after pause, expected paused"
code=$(api PUT /v1/vm/pause)
[ "$code" = 409 ] || err "second PUT /v1/vm/pause: $code, expected 409"
code=$(api PUT /v1/vm/resume)
[ "$code" = 204 ] || err "PUT /v1/vm/resume: $code, expected 204"
sleep 1
c=$(last_tick)
echo "resumed: TICK $c"
[ -n "$c" ] && [ "$c" -gt "${b:-0}" ] || err "no ticks after resume (TICK $b -> $c)"
code=$(api GET /v1/vm/console)
[ "$code" = 200 ] && grep -qa '^TICK ' "$T/body" ||
	err "GET /v1/vm/console: $code without the guest's TICK lines"
# Junk on the socket must not hurt the VMM: garbage, a huge body, a client
# that connects and says nothing.
printf 'GARBAGE \r\n\r\n' | timeout 5 socat - "UNIX-CONNECT:$API" >/dev/null 2>&1
head -c 8M /dev/zero | timeout 10 curl -s --unix-socket "$API" -o /dev/null \
	-w '%{http_code}' -H 'Content-Type: application/json' -X PUT --data-binary @- \
	http://vmm/v1/vm/pause >"$T/big.code"
echo "8 MiB body -> HTTP $(cat "$T/big.code")"
[ "$(cat "$T/big.code")" = 413 ] ||
	err "an 8 MiB body got HTTP $(cat "$T/big.code"), expected 413"
timeout 3 socat -u /dev/null "UNIX-CONNECT:$API" 2>/dev/null &
sleep 0.2
code=$(api GET /v1/vm)
[ "$code" = 200 ] || err "GET /v1/vm after junk: $code, expected 200"
code=$(api PUT /v1/vm/stop)
[ "$code" = 204 ] || err "PUT /v1/vm/stop: $code, expected 204"
wait_vmm 10
expect_rc 0 "stopped through the control socket"
[ ! -e "$API" ] || err "control socket $API left behind after exit"
finish
