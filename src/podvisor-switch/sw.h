/* SPDX-License-Identifier: Apache-2.0 */
/*
 * podvisor-switch internals: the port and segment tables, the MAC table and
 * the worker datapath. The main lcore owns every table change (control
 * socket, vhost callbacks); worker lcores only read the tables and learn
 * MACs. A removed port is unpublished first, then freed after an RCU
 * grace period (rte_rcu_qsbr) so no worker still holds it.
 */
#ifndef PODVISOR_SWITCH_SW_H
#define PODVISOR_SWITCH_SW_H

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <rte_mempool.h>
#include <rte_rcu_qsbr.h>

#include "podvisor/switch.h"

#define SW_MAX_PORTS    64
#define SW_MAX_SEGMENTS 64
#define SW_MAX_WORKERS  RTE_MAX_LCORE
#define SW_BURST        32

enum sw_drop {
	SW_DROP_POLICY_OUT, /* counted on the sender */
	SW_DROP_POLICY_IN,  /* counted on the receiver */
	SW_DROP_TX_FULL,    /* receiver's ring full (guest not reading) */
	SW_DROP_NO_LINK,    /* learned receiver not connected */
	SW_DROP_RUNT,       /* shorter than an Ethernet header */
	SW_DROP_SPOOF,      /* source MAC is not the port's configured MAC */
	SW_DROP_LOOP,       /* destination learned on the sending port */
	SW_DROP_MAX,
};

extern const char *const sw_drop_names[SW_DROP_MAX];

struct sw_segment {
	char name[SW_NAME_MAX];
	uint16_t id;         /* index in the table */
	enum sw_action dflt; /* for "in" frames no rule matched */
	unsigned int nr_ports;
};

struct sw_port_stats {
	uint64_t rx_packets, rx_bytes;
	uint64_t tx_packets, tx_bytes;
	uint64_t drops[SW_DROP_MAX];
};

struct sw_port {
	char name[SW_NAME_MAX];
	char path[108];
	uint16_t idx; /* slot in sw.ports */
	struct sw_segment *seg;
	bool has_mac;
	uint8_t mac[6];
	struct sw_policy *policy; /* atomic: replaced under RCU */
	int vid;                  /* vhost device id, valid while ready */
	bool ready;               /* atomic: datapath may use vid */
	bool registered;
	/* Updated with relaxed atomic adds: several workers transmit. */
	struct sw_port_stats st;
};

struct sw_state {
	pthread_mutex_t lock;                /* control-plane changes only */
	struct sw_port *ports[SW_MAX_PORTS]; /* atomic loads on the datapath */
	struct sw_segment *segs[SW_MAX_SEGMENTS];
	struct rte_mempool *pool;
	struct rte_rcu_qsbr *qsbr;
	unsigned int nr_workers;
	unsigned int age_s;
	uint32_t now_s; /* coarse clock, written by the main lcore */
	volatile bool stop;
};

extern struct sw_state sw;

/* fdb.c: the MAC table, keyed by (segment, MAC). */
int sw_fdb_init(unsigned int entries);
void sw_fdb_fini(void);
/* Datapath: learns src on port (no-op for a static entry elsewhere). */
void sw_fdb_learn(uint16_t seg, const uint8_t mac[6], uint16_t port);
/* Returns the port slot or -1. */
int sw_fdb_lookup(uint16_t seg, const uint8_t mac[6]);
int sw_fdb_add_static(uint16_t seg, const uint8_t mac[6], uint16_t port);
/* Control: drops entries older than age_s (or of port when port >= 0,
 * or every entry of the segment when seg >= 0). Call on the main lcore. */
void sw_fdb_expire(int port, int seg);
struct json_object *sw_fdb_to_json(void);

/* port.c */
int sw_segment_add(const char *name, enum sw_action dflt, struct sw_error *err);
int sw_segment_del(const char *name, struct sw_error *err);
struct sw_segment *sw_segment_find(const char *name);
int sw_port_add(struct json_object *req, struct sw_error *err);
int sw_port_del(const char *name, struct sw_error *err);
/* Replaces a port's rules while traffic flows; old rules freed after a
 * grace period. */
int sw_port_set_rules(struct json_object *req, struct sw_error *err);
void sw_port_del_all(void);
struct json_object *sw_ports_to_json(void);
struct json_object *sw_segments_to_json(void);

/* datapath.c */
int sw_worker_main(void *arg);

/* control.c: serves the socket until sw.stop. */
int sw_control_run(const char *path);
/* Answers one request object (also used for --config); caller puts it. */
struct json_object *sw_control_handle(struct json_object *req);

#endif
