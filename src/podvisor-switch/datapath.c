/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Worker lcores: poll the ports assigned to them (slot % nr_workers), take
 * bursts of 32 frames from each guest's TX ring, learn source MACs, decide
 * each frame's destinations inside its segment, batch per destination and
 * enqueue into the destination guests' RX rings. librte_vhost copies on
 * enqueue, so a flooded frame is enqueued to every port and freed once.
 * No syscalls and no logging here.
 */
#include <errno.h>
#include <string.h>

#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>
#include <rte_vhost.h>

#include "sw.h"

#define VIRTIO_RXQ 0 /* ring 2q: the guest's RX, our transmit side */
#define VIRTIO_TXQ 1 /* ring 2q+1: the guest's TX, our receive side */

struct sw_batch {
	uint16_t n;
	struct rte_mbuf *m[SW_BURST];
};

struct sw_frame {
	struct rte_mbuf *m;
	const uint8_t *eth;
	bool parsed;
	struct sw_pkt_meta meta;
};

/*
 * Per worker: one pending batch per destination port slot, and the last
 * source learned and destination looked up in this burst: a guest mostly
 * talks to one peer, so most frames of a burst skip both hash lookups.
 * Both are reset at every burst, so they never outlive a grace period.
 */
struct sw_worker {
	uint64_t pending; /* bit i: out[i] holds frames */
	bool src_cached, dst_cached;
	uint8_t last_src[6], last_dst[6];
	int last_dst_slot;
	struct sw_batch out[SW_MAX_PORTS];
};

static void count(uint64_t *c, uint64_t n)
{
	__atomic_fetch_add(c, n, __ATOMIC_RELAXED);
}

static const struct sw_pkt_meta *frame_meta(struct sw_frame *f)
{
	if (!f->parsed) {
		sw_pkt_parse(f->eth, rte_pktmbuf_data_len(f->m), &f->meta);
		f->parsed = true;
	}
	return &f->meta;
}

static void deliver(struct sw_worker *w, struct sw_port *q, struct sw_frame *f)
{
	struct sw_batch *b = &w->out[q->idx];

	if (!__atomic_load_n(&q->ready, __ATOMIC_ACQUIRE)) {
		count(&q->st.drops[SW_DROP_NO_LINK], 1);
		return;
	}
	const struct sw_policy *qp =
	    __atomic_load_n(&q->policy, __ATOMIC_ACQUIRE);

	if ((qp->nr_rules || q->seg->dflt == SW_DENY) &&
	    sw_policy_eval(qp, SW_DIR_IN, frame_meta(f), q->seg->dflt) ==
	        SW_DENY) {
		count(&q->st.drops[SW_DROP_POLICY_IN], 1);
		return;
	}
	b->m[b->n++] = f->m;
	w->pending |= 1ull << q->idx;
}

static void flood(struct sw_worker *w, struct sw_port *p, struct sw_frame *f)
{
	for (int i = 0; i < SW_MAX_PORTS; i++) {
		struct sw_port *q =
		    __atomic_load_n(&sw.ports[i], __ATOMIC_ACQUIRE);

		/* Segments are the isolation boundary: never leave one. */
		if (q && q != p && q->seg == p->seg &&
		    __atomic_load_n(&q->ready, __ATOMIC_RELAXED))
			deliver(w, q, f);
	}
}

static void forward(struct sw_worker *w, struct sw_port *p, struct sw_frame *f)
{
	const uint8_t *dst = f->eth, *src = f->eth + 6;
	uint16_t seg = p->seg->id;
	struct sw_port *q;
	int slot;

	if (p->has_mac && memcmp(src, p->mac, 6)) {
		count(&p->st.drops[SW_DROP_SPOOF], 1);
		return;
	}
	if (!(src[0] & 1) && !(w->src_cached && !memcmp(src, w->last_src, 6))) {
		sw_fdb_learn(seg, src, p->idx);
		memcpy(w->last_src, src, 6);
		w->src_cached = true;
	}
	const struct sw_policy *pp =
	    __atomic_load_n(&p->policy, __ATOMIC_ACQUIRE);

	if (pp->nr_rules && sw_policy_eval(pp, SW_DIR_OUT, frame_meta(f),
	                                   SW_ALLOW) == SW_DENY) {
		count(&p->st.drops[SW_DROP_POLICY_OUT], 1);
		return;
	}
	if (dst[0] & 1) {
		flood(w, p, f);
		return;
	}
	if (!w->dst_cached || memcmp(dst, w->last_dst, 6)) {
		w->last_dst_slot = sw_fdb_lookup(seg, dst);
		memcpy(w->last_dst, dst, 6);
		w->dst_cached = true;
	}
	slot = w->last_dst_slot;
	q = slot >= 0 ? __atomic_load_n(&sw.ports[slot], __ATOMIC_ACQUIRE)
	              : NULL;
	/* A slot may have been reused by a port of another segment. */
	if (!q || q->seg != p->seg) {
		flood(w, p, f);
		return;
	}
	if (q == p) {
		count(&p->st.drops[SW_DROP_LOOP], 1);
		return;
	}
	deliver(w, q, f);
}

static void flush(struct sw_worker *w)
{
	while (w->pending) {
		int i = __builtin_ctzll(w->pending);
		struct sw_batch *b = &w->out[i];
		struct sw_port *q =
		    __atomic_load_n(&sw.ports[i], __ATOMIC_ACQUIRE);
		uint16_t sent = 0;
		uint64_t bytes = 0;

		w->pending &= ~(1ull << i);
		if (q && __atomic_load_n(&q->ready, __ATOMIC_ACQUIRE))
			sent = rte_vhost_enqueue_burst(q->vid, VIRTIO_RXQ, b->m,
			                               b->n);
		for (uint16_t k = 0; k < sent; k++)
			bytes += rte_pktmbuf_pkt_len(b->m[k]);
		if (q) {
			count(&q->st.tx_packets, sent);
			count(&q->st.tx_bytes, bytes);
			if (sent < b->n)
				count(&q->st.drops[SW_DROP_TX_FULL],
				      b->n - sent);
		}
		b->n = 0;
	}
}

static void port_poll(struct sw_worker *w, struct sw_port *p)
{
	struct rte_mbuf *pkts[SW_BURST];
	struct sw_frame f;
	uint64_t bytes = 0;
	uint16_t n;

	n = rte_vhost_dequeue_burst(p->vid, VIRTIO_TXQ, sw.pool, pkts,
	                            SW_BURST);
	if (!n)
		return;
	w->src_cached = w->dst_cached = false;
	for (uint16_t i = 0; i < n; i++) {
		bytes += rte_pktmbuf_pkt_len(pkts[i]);
		if (i + 1 < n)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 1], void *));
		f.m = pkts[i];
		f.eth = rte_pktmbuf_mtod(pkts[i], const uint8_t *);
		f.parsed = false;
		if (rte_pktmbuf_data_len(pkts[i]) < 14) {
			count(&p->st.drops[SW_DROP_RUNT], 1);
			continue;
		}
		forward(w, p, &f);
	}
	count(&p->st.rx_packets, n);
	count(&p->st.rx_bytes, bytes);
	flush(w);
	rte_pktmbuf_free_bulk(pkts, n);
}

int sw_worker_main(void *arg)
{
	unsigned int id = (unsigned int)(uintptr_t)arg;
	struct sw_worker *w;

	w = rte_zmalloc("sw_worker", sizeof(*w), RTE_CACHE_LINE_SIZE);
	if (!w)
		return -ENOMEM;
	rte_rcu_qsbr_thread_register(sw.qsbr, id);
	rte_rcu_qsbr_thread_online(sw.qsbr, id);
	while (!__atomic_load_n(&sw.stop, __ATOMIC_RELAXED)) {
		for (unsigned int i = id; i < SW_MAX_PORTS;
		     i += sw.nr_workers) {
			struct sw_port *p =
			    __atomic_load_n(&sw.ports[i], __ATOMIC_ACQUIRE);

			if (p && __atomic_load_n(&p->ready, __ATOMIC_ACQUIRE))
				port_poll(w, p);
		}
		/* Holds no port or MAC-table pointer across this point. */
		rte_rcu_qsbr_quiescent(sw.qsbr, id);
	}
	rte_rcu_qsbr_thread_offline(sw.qsbr, id);
	rte_rcu_qsbr_thread_unregister(sw.qsbr, id);
	rte_free(w);
	return 0;
}
