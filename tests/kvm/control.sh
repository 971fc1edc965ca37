#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The VMM's control socket against a running guest that prints "TICK n"
# every 50 ms: GET state, pause (ticks stop), a second pause is 409, resume
# (ticks go on), the console ring, stop (exit 0).
. "$(dirname "$0")/lib.sh"
need_kvm
need_tool curl curl
need_tool jq jq

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
code=$(api PUT /v1/vm/stop)
[ "$code" = 204 ] || err "PUT /v1/vm/stop: $code, expected 204"
wait_vmm 10
expect_rc 0 "stopped through the control socket"
[ ! -e "$API" ] || err "control socket $API left behind after exit"
finish
