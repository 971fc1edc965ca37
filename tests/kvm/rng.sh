#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# virtio-rng: requests are filled with varying bytes and interrupt.
. "$(dirname "$0")/lib.sh"
need_kvm

run_vmm 60 --memory 128 --rng --cmdline "test=rng"
expect_rc 0 "guest powers off after the checks"
expect_pass rng_bytes_arrive rng_msix rng_bytes_vary rng_second_request_differs
expect_clean
finish
