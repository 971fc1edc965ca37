/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The MAC table: rte_hash keyed by (segment, MAC) with lock-free readers
 * and several writers, because every worker learns. The value is packed in
 * the hash's data pointer (port slot, static flag, last-seen second) so an
 * update is one atomic store inside the hash. Deletion happens only on the
 * main lcore: entries are unlinked, a grace period passes, then their key
 * slots are freed (RW_CONCURRENCY_LF without an RCU config leaves freeing
 * to us).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>
#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_jhash.h>
#include <rte_lcore.h>

#include "podvisor/log.h"
#include "sw.h"

struct fdb_key {
	uint8_t mac[6];
	uint16_t seg;
} __attribute__((packed));

#define VAL_PORT(v)   ((uint16_t)((v)&0xffff))
#define VAL_STATIC(v) (((v) >> 16) & 1)
#define VAL_SEEN(v)   ((uint32_t)((v) >> 32))

static struct rte_hash *fdb;

static uintptr_t fdb_val(uint16_t port, bool is_static, uint32_t seen)
{
	return (uintptr_t)port | (uintptr_t)is_static << 16 |
	       (uintptr_t)seen << 32;
}

static void fdb_key_make(struct fdb_key *k, uint16_t seg, const uint8_t *mac)
{
	memcpy(k->mac, mac, 6);
	k->seg = seg;
}

int sw_fdb_init(unsigned int entries)
{
	struct rte_hash_parameters p = {
	    .name = "pv_fdb",
	    .entries = entries,
	    .key_len = sizeof(struct fdb_key),
	    .hash_func = rte_jhash,
	    .socket_id = (int)rte_socket_id(),
	    .extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF |
	                  RTE_HASH_EXTRA_FLAGS_MULTI_WRITER_ADD,
	};

	fdb = rte_hash_create(&p);
	if (!fdb)
		return log_err_errno(rte_errno,
		                     "cannot create the MAC table (%u entries)",
		                     entries);
	return 0;
}

void sw_fdb_fini(void)
{
	rte_hash_free(fdb);
	fdb = NULL;
}

int sw_fdb_lookup(uint16_t seg, const uint8_t mac[6])
{
	struct fdb_key k;
	void *v;

	fdb_key_make(&k, seg, mac);
	if (rte_hash_lookup_data(fdb, &k, &v) < 0)
		return -1;
	return VAL_PORT((uintptr_t)v);
}

void sw_fdb_learn(uint16_t seg, const uint8_t mac[6], uint16_t port)
{
	uint32_t now = __atomic_load_n(&sw.now_s, __ATOMIC_RELAXED);
	struct fdb_key k;
	uintptr_t val;
	void *v;

	fdb_key_make(&k, seg, mac);
	if (rte_hash_lookup_data(fdb, &k, &v) >= 0) {
		val = (uintptr_t)v;
		/* Static entries belong to their port; refreshes are
		 * written at most once a second per MAC. */
		if (VAL_STATIC(val) ||
		    (VAL_PORT(val) == port && VAL_SEEN(val) == now))
			return;
	}
	/* A full table only means this MAC keeps being flooded. */
	rte_hash_add_key_data(fdb, &k, (void *)fdb_val(port, false, now));
}

int sw_fdb_add_static(uint16_t seg, const uint8_t mac[6], uint16_t port)
{
	struct fdb_key k;
	int r;

	fdb_key_make(&k, seg, mac);
	r = rte_hash_add_key_data(fdb, &k, (void *)fdb_val(port, true, 0));
	return r < 0 ? r : 0;
}

static bool fdb_should_expire(const struct fdb_key *k, uintptr_t val, int port,
                              int seg)
{
	if (port >= 0)
		return VAL_PORT(val) == port;
	if (seg >= 0)
		return k->seg == seg;
	return !VAL_STATIC(val) &&
	       sw.now_s - VAL_SEEN(val) > (uint32_t)sw.age_s;
}

void sw_fdb_expire(int port, int seg)
{
	static int32_t pos[1024];
	const void *key;
	void *data;
	uint32_t iter = 0;
	unsigned int n = 0;
	int32_t r;

	while (n < RTE_DIM(pos) &&
	       rte_hash_iterate(fdb, &key, &data, &iter) >= 0) {
		if (!fdb_should_expire(key, (uintptr_t)data, port, seg))
			continue;
		r = rte_hash_del_key(fdb, key);
		if (r >= 0)
			pos[n++] = r;
	}
	if (!n)
		return;
	/* Workers may still hold a pointer into these key slots. */
	rte_rcu_qsbr_synchronize(sw.qsbr, RTE_QSBR_THRID_INVALID);
	for (unsigned int i = 0; i < n; i++)
		rte_hash_free_key_with_position(fdb, pos[i]);
	log_debug("mac table: removed %u entries", n);
	if (n == RTE_DIM(pos))
		sw_fdb_expire(port, seg);
}

json_object *sw_fdb_to_json(void)
{
	json_object *arr = json_object_new_array();
	const struct fdb_key *k;
	const void *key;
	void *data;
	uint32_t iter = 0;
	char mac[18];

	while (rte_hash_iterate(fdb, &key, &data, &iter) >= 0) {
		uintptr_t v = (uintptr_t)data;
		struct sw_port *p = sw.ports[VAL_PORT(v) % SW_MAX_PORTS];
		struct sw_segment *s;
		json_object *e = json_object_new_object();

		k = key;
		s = k->seg < SW_MAX_SEGMENTS ? sw.segs[k->seg] : NULL;
		snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x",
		         k->mac[0], k->mac[1], k->mac[2], k->mac[3], k->mac[4],
		         k->mac[5]);
		json_object_object_add(
		    e, "segment", json_object_new_string(s ? s->name : "?"));
		json_object_object_add(e, "mac", json_object_new_string(mac));
		json_object_object_add(
		    e, "port", json_object_new_string(p ? p->name : "?"));
		json_object_object_add(e, "static",
		                       json_object_new_boolean(VAL_STATIC(v)));
		json_object_object_add(
		    e, "age",
		    json_object_new_int64(
		        VAL_STATIC(v) ? 0 : sw.now_s - VAL_SEEN(v)));
		json_object_array_add(arr, e);
	}
	return arr;
}
