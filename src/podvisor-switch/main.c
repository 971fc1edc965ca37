/* SPDX-License-Identifier: Apache-2.0 */
/*
 * podvisor-switch: DPDK poll-mode L2 switch for vhost-user guest NICs.
 *
 *   podvisor-switch <EAL args> -- [--control PATH] [--config FILE]
 *                   [--age SECONDS] [--mac-table-size N] [--log-level L]
 *
 * The main lcore serves the control socket; every other lcore of -l polls
 * ports. Exit codes: 0 stopped by a signal, 1 runtime error, 2 bad
 * command line or configuration (the message names the option).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_log.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>

#include "config.h"
#include "podvisor/log.h"
#include "sw.h"

struct sw_state sw = {.lock = PTHREAD_MUTEX_INITIALIZER, .age_s = 300};

struct opts {
	const char *control;
	const char *config;
	unsigned int table;
};

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: podvisor-switch <EAL args> -- [options]\n"
	        "  --control PATH       control socket (default %s)\n"
	        "  --config FILE        JSON array of control requests run at "
	        "start\n"
	        "  --age SECONDS        MAC ageing time (default 300)\n"
	        "  --mac-table-size N   MAC table entries (default 65536)\n"
	        "  --log-level L        error|warn|info|debug\n"
	        "EAL example: -l 0-1 --no-huge -m 1024 --no-pci "
	        "--file-prefix sw0\n",
	        SW_DEFAULT_CONTROL);
}

static int parse_uint(const char *opt, const char *s, unsigned long lo,
                      unsigned long hi, unsigned int *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi) {
		log_err("--%s: \"%s\" is not a number in %lu..%lu", opt, s, lo,
		        hi);
		return -EINVAL;
	}
	*out = (unsigned int)v;
	return 0;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
	    {"control", required_argument, NULL, 'c'},
	    {"config", required_argument, NULL, 'f'},
	    {"age", required_argument, NULL, 'a'},
	    {"mac-table-size", required_argument, NULL, 't'},
	    {"log-level", required_argument, NULL, 'l'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	int c, lvl;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'c':
			o->control = optarg;
			break;
		case 'f':
			o->config = optarg;
			break;
		case 'a':
			if (parse_uint("age", optarg, 1, 86400, &sw.age_s))
				return -EINVAL;
			break;
		case 't':
			if (parse_uint("mac-table-size", optarg, 64, 1 << 24,
			               &o->table))
				return -EINVAL;
			break;
		case 'l':
			lvl = pv_log_level_parse(optarg);
			if (lvl < 0) {
				log_err("--log-level: use error, warn, info "
				        "or debug");
				return -EINVAL;
			}
			pv_log_init("podvisor-switch", lvl);
			if (lvl == PV_LOG_DEBUG)
				rte_log_set_level_pattern("lib.vhost.*",
				                          RTE_LOG_INFO);
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		log_err("unexpected argument \"%s\"", argv[optind]);
		return -EINVAL;
	}
	return 0;
}

/* Runs every request of a JSON array file; stops at the first refusal. */
static int apply_config(const char *file)
{
	json_object *arr = json_object_from_file(file), *resp, *e;
	int r = 0;

	if (!arr || !json_object_is_type(arr, json_type_array)) {
		log_err("--config %s: not a JSON array of requests (%s)", file,
		        json_util_get_last_err());
		json_object_put(arr);
		return -EINVAL;
	}
	for (size_t i = 0; i < json_object_array_length(arr) && !r; i++) {
		resp = sw_control_handle(json_object_array_get_idx(arr, i));
		if (json_object_object_get_ex(resp, "error", &e)) {
			log_err("--config %s: request %zu: %s", file, i,
			        json_object_to_json_string(e));
			r = -EINVAL;
		}
		json_object_put(resp);
	}
	json_object_put(arr);
	return r;
}

static void on_signal(int sig)
{
	sw.stop = true;
}

static int setup(unsigned int table)
{
	size_t sz;

	sw.nr_workers = rte_lcore_count() - 1;
	if (sw.nr_workers == 0) {
		log_err("-l: give at least two lcores (e.g. -l 0-1): the main "
		        "lcore serves control, the others poll ports");
		return -EINVAL;
	}
	sw.pool = rte_pktmbuf_pool_create("sw_mbufs", 16383, 256, 0,
	                                  RTE_MBUF_DEFAULT_BUF_SIZE,
	                                  (int)rte_socket_id());
	if (!sw.pool)
		return log_err_errno(rte_errno, "cannot create the mbuf pool "
		                                "(give EAL more memory, -m)");
	sz = rte_rcu_qsbr_get_memsize(sw.nr_workers);
	sw.qsbr = rte_zmalloc("sw_qsbr", sz, RTE_CACHE_LINE_SIZE);
	if (!sw.qsbr || rte_rcu_qsbr_init(sw.qsbr, sw.nr_workers))
		return log_err_errno(ENOMEM, "cannot set up RCU");
	return sw_fdb_init(table);
}

static int run(const struct opts *o)
{
	unsigned int id = 0, lc;
	int r;

	r = setup(o->table);
	if (r)
		return r == -EINVAL ? 2 : 1;
	RTE_LCORE_FOREACH_WORKER(lc)
	{
		rte_eal_remote_launch(sw_worker_main, (void *)(uintptr_t)id,
		                      lc);
		log_info("lcore %u polls ports %u, %u+%u, ...", lc, id, id,
		         sw.nr_workers);
		id++;
	}
	r = o->config ? apply_config(o->config) : 0;
	if (!r)
		r = sw_control_run(o->control);
	sw.stop = true;
	rte_eal_mp_wait_lcore();
	sw_port_del_all();
	sw_fdb_fini();
	if (r == -EINVAL)
		return 2;
	return r ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct opts o = {.control = SW_DEFAULT_CONTROL, .table = 65536};
	struct sigaction sa = {.sa_handler = on_signal};
	int n, rc;

	pv_log_init("podvisor-switch", PV_LOG_INFO);
	n = rte_eal_init(argc, argv);
	if (n < 0) {
		log_err("EAL initialisation failed: %s; on hosts without "
		        "hugepages pass --no-huge -m 1024 --no-pci",
		        rte_strerror(rte_errno));
		return 2;
	}
	/* librte_vhost logs every message at INFO; keep the switch's own
	 * lines readable unless debugging. */
	rte_log_set_level_pattern("lib.vhost.*", RTE_LOG_WARNING);
	argv[n] = argv[0];
	if (parse_args(argc - n, argv + n, &o)) {
		rte_eal_cleanup();
		return 2;
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	log_info("podvisor-switch %s: %u lcores, control %s, MAC ageing %us",
	         PODVISOR_VERSION, rte_lcore_count(), o.control, sw.age_s);
	rc = run(&o);
	rte_eal_cleanup();
	log_info("stopped");
	return rc;
}
