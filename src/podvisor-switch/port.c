/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Segments and vhost-user ports. Everything here runs on the main lcore
 * except the vhost callbacks, which run on librte_vhost's own thread; both
 * take sw.lock. Workers see a port through an atomic load of its slot and
 * use its vid only while p->ready.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <rte_vhost.h>

#include "podvisor/log.h"
#include "sw.h"

const char *const sw_drop_names[SW_DROP_MAX] = {
    [SW_DROP_POLICY_OUT] = "policy_out",
    [SW_DROP_POLICY_IN] = "policy_in",
    [SW_DROP_TX_FULL] = "tx_full",
    [SW_DROP_NO_LINK] = "no_link",
    [SW_DROP_RUNT] = "runt",
    [SW_DROP_SPOOF] = "spoof",
    [SW_DROP_LOOP] = "loop",
};

static bool name_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= SW_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '_' ||
		      c == '.'))
			return false;
	}
	return true;
}

struct sw_segment *sw_segment_find(const char *name)
{
	for (int i = 0; i < SW_MAX_SEGMENTS; i++)
		if (sw.segs[i] && !strcmp(sw.segs[i]->name, name))
			return sw.segs[i];
	return NULL;
}

int sw_segment_add(const char *name, enum sw_action dflt, struct sw_error *err)
{
	struct sw_segment *s;
	int r = 0;

	if (!name_valid(name))
		return sw_error_set(err, EINVAL, "name",
		                    "segment name must be 1-%d characters of "
		                    "[A-Za-z0-9._-]",
		                    SW_NAME_MAX - 1);
	pthread_mutex_lock(&sw.lock);
	if (sw_segment_find(name)) {
		r = sw_error_set(err, EEXIST, "name",
		                 "segment %s exists already", name);
		goto out;
	}
	for (int i = 0; i < SW_MAX_SEGMENTS; i++) {
		if (sw.segs[i])
			continue;
		s = calloc(1, sizeof(*s));
		if (!s) {
			r = sw_error_set(err, ENOMEM, "name", "out of memory");
			goto out;
		}
		snprintf(s->name, sizeof(s->name), "%s", name);
		s->id = (uint16_t)i;
		s->dflt = dflt;
		sw.segs[i] = s;
		log_info("segment %s added (default %s)", name,
		         dflt == SW_DENY ? "deny" : "allow");
		goto out;
	}
	r = sw_error_set(err, ENOSPC, "name", "all %d segments are in use",
	                 SW_MAX_SEGMENTS);
out:
	pthread_mutex_unlock(&sw.lock);
	return r;
}

int sw_segment_del(const char *name, struct sw_error *err)
{
	struct sw_segment *s;
	int r = 0;

	pthread_mutex_lock(&sw.lock);
	s = sw_segment_find(name);
	if (!s) {
		r = sw_error_set(err, ENOENT, "name", "no segment named %s",
		                 name);
	} else if (s->nr_ports) {
		r = sw_error_set(err, EBUSY, "name",
		                 "segment %s still has %u ports; remove them "
		                 "first",
		                 name, s->nr_ports);
	} else {
		sw.segs[s->id] = NULL;
	}
	pthread_mutex_unlock(&sw.lock);
	if (r)
		return r;
	sw_fdb_expire(-1, s->id);
	log_info("segment %s removed", name);
	free(s);
	return 0;
}

static struct sw_port *port_by_name(const char *name)
{
	for (int i = 0; i < SW_MAX_PORTS; i++)
		if (sw.ports[i] && !strcmp(sw.ports[i]->name, name))
			return sw.ports[i];
	return NULL;
}

static struct sw_port *port_by_path(const char *path)
{
	for (int i = 0; i < SW_MAX_PORTS; i++)
		if (sw.ports[i] && !strcmp(sw.ports[i]->path, path))
			return sw.ports[i];
	return NULL;
}

static int vhost_new_device(int vid)
{
	char path[PATH_MAX];
	struct sw_port *p;

	if (rte_vhost_get_ifname(vid, path, sizeof(path)))
		return -1;
	pthread_mutex_lock(&sw.lock);
	p = port_by_path(path);
	if (p) {
		/* Poll mode: the guest need not kick us. */
		for (uint16_t q = 0; q < rte_vhost_get_vring_num(vid); q++)
			rte_vhost_enable_guest_notification(vid, q, 0);
		p->vid = vid;
		__atomic_store_n(&p->ready, true, __ATOMIC_RELEASE);
		log_info("port %s: connected to %s (vid %d)", p->name, path,
		         vid);
	}
	pthread_mutex_unlock(&sw.lock);
	return p ? 0 : -1;
}

static void vhost_destroy_device(int vid)
{
	struct sw_port *p = NULL;

	pthread_mutex_lock(&sw.lock);
	for (int i = 0; i < SW_MAX_PORTS; i++) {
		if (sw.ports[i] && sw.ports[i]->ready &&
		    sw.ports[i]->vid == vid) {
			p = sw.ports[i];
			__atomic_store_n(&p->ready, false, __ATOMIC_RELEASE);
			log_info("port %s: disconnected from %s; reconnecting",
			         p->name, p->path);
		}
	}
	pthread_mutex_unlock(&sw.lock);
	/* The library frees the rings when we return: wait for workers. */
	if (p)
		rte_rcu_qsbr_synchronize(sw.qsbr, RTE_QSBR_THRID_INVALID);
}

static const struct rte_vhost_device_ops vhost_ops = {
    .new_device = vhost_new_device,
    .destroy_device = vhost_destroy_device,
};

static int port_vhost_start(struct sw_port *p, struct sw_error *err)
{
	if (rte_vhost_driver_register(p->path, RTE_VHOST_USER_CLIENT))
		return sw_error_set(err, EINVAL, "path",
		                    "cannot register vhost-user client for %s",
		                    p->path);
	p->registered = true;
	if (rte_vhost_driver_callback_register(p->path, &vhost_ops) ||
	    rte_vhost_driver_start(p->path))
		return sw_error_set(err, EIO, "path",
		                    "cannot start vhost-user client for %s",
		                    p->path);
	return 0;
}

static const char *req_str(json_object *req, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(req, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* Validates a port_add request into a new, unpublished port. */
static int port_parse(json_object *req, struct sw_port **out,
                      struct sw_error *err)
{
	const char *name = req_str(req, "name");
	const char *path = req_str(req, "path");
	const char *seg = req_str(req, "segment");
	json_object *mac = NULL, *rules = NULL;
	struct sw_port *p;
	int r;

	if (!name || !name_valid(name))
		return sw_error_set(err, EINVAL, "name",
		                    "name must be 1-%d characters of "
		                    "[A-Za-z0-9._-], e.g. \"vm1-eth0\"",
		                    SW_NAME_MAX - 1);
	if (!path || path[0] != '/' || strlen(path) >= sizeof(p->path))
		return sw_error_set(err, EINVAL, "path",
		                    "path must be the absolute path of the "
		                    "vhost-user socket (under 108 bytes)");
	if (!seg)
		return sw_error_set(err, EINVAL, "segment",
		                    "segment is required; create one with "
		                    "segment_add");
	p = calloc(1, sizeof(*p));
	if (!p)
		return sw_error_set(err, ENOMEM, "name", "out of memory");
	snprintf(p->name, sizeof(p->name), "%s", name);
	snprintf(p->path, sizeof(p->path), "%s", path);
	p->vid = -1;
	if (json_object_object_get_ex(req, "mac", &mac) && mac) {
		if (!json_object_is_type(mac, json_type_string) ||
		    sw_mac_parse(json_object_get_string(mac), p->mac) ||
		    (p->mac[0] & 1)) {
			free(p);
			return sw_error_set(err, EINVAL, "mac",
			                    "mac must be a unicast MAC such as "
			                    "02:00:00:00:00:01");
		}
		p->has_mac = true;
	}
	json_object_object_get_ex(req, "rules", &rules);
	r = sw_policy_from_json(rules, &p->policy, err);
	if (r) {
		free(p);
		return r;
	}
	*out = p;
	return 0;
}

/* Under sw.lock: conflicts with existing ports, segment, free slot. */
static int port_place(struct sw_port *p, const char *seg, struct sw_error *err)
{
	int slot = -1, owner;

	if (port_by_name(p->name))
		return sw_error_set(err, EEXIST, "name",
		                    "port %s exists already", p->name);
	if (port_by_path(p->path))
		return sw_error_set(err, EEXIST, "path",
		                    "socket %s is already used by port %s",
		                    p->path, port_by_path(p->path)->name);
	p->seg = sw_segment_find(seg);
	if (!p->seg)
		return sw_error_set(err, ENOENT, "segment",
		                    "unknown segment %s; create it first with "
		                    "{\"op\":\"segment_add\",\"name\":\"%s\"}",
		                    seg, seg);
	owner = p->has_mac ? sw_fdb_lookup(p->seg->id, p->mac) : -1;
	if (owner >= 0 && sw.ports[owner] && sw.ports[owner]->has_mac &&
	    !memcmp(sw.ports[owner]->mac, p->mac, 6))
		return sw_error_set(err, EEXIST, "mac",
		                    "mac is already the MAC of port %s in "
		                    "segment %s",
		                    sw.ports[owner]->name, seg);
	for (int i = 0; i < SW_MAX_PORTS && slot < 0; i++)
		if (!sw.ports[i])
			slot = i;
	if (slot < 0)
		return sw_error_set(err, ENOSPC, "name",
		                    "all %d ports are in use", SW_MAX_PORTS);
	p->idx = (uint16_t)slot;
	if (p->has_mac && sw_fdb_add_static(p->seg->id, p->mac, p->idx))
		return sw_error_set(err, ENOSPC, "mac",
		                    "the MAC table is full");
	p->seg->nr_ports++;
	__atomic_store_n(&sw.ports[slot], p, __ATOMIC_RELEASE);
	return 0;
}

static void port_free(struct sw_port *p)
{
	if (p->registered)
		rte_vhost_driver_unregister(p->path);
	free(p->policy);
	free(p);
}

/* Unpublishes p, waits for the workers, then releases it. */
static void port_remove(struct sw_port *p)
{
	pthread_mutex_lock(&sw.lock);
	__atomic_store_n(&sw.ports[p->idx], NULL, __ATOMIC_RELEASE);
	p->seg->nr_ports--;
	pthread_mutex_unlock(&sw.lock);
	rte_rcu_qsbr_synchronize(sw.qsbr, RTE_QSBR_THRID_INVALID);
	if (p->registered)
		rte_vhost_driver_unregister(p->path);
	p->registered = false;
	sw_fdb_expire(p->idx, -1);
	port_free(p);
}

int sw_port_add(json_object *req, struct sw_error *err)
{
	struct sw_port *p = NULL;
	int r;

	r = port_parse(req, &p, err);
	if (r)
		return r;
	pthread_mutex_lock(&sw.lock);
	r = port_place(p, req_str(req, "segment"), err);
	pthread_mutex_unlock(&sw.lock);
	if (r) {
		port_free(p);
		return r;
	}
	r = port_vhost_start(p, err);
	if (r) {
		port_remove(p);
		return r;
	}
	log_info("port %s added: segment %s, socket %s, %u rules", p->name,
	         p->seg->name, p->path, p->policy->nr_rules);
	return 0;
}

int sw_port_del(const char *name, struct sw_error *err)
{
	struct sw_port *p;

	pthread_mutex_lock(&sw.lock);
	p = name ? port_by_name(name) : NULL;
	pthread_mutex_unlock(&sw.lock);
	if (!p)
		return sw_error_set(err, ENOENT, "name", "no port named %s",
		                    name ? name : "(missing)");
	port_remove(p);
	log_info("port %s removed", name);
	return 0;
}

int sw_port_set_rules(json_object *req, struct sw_error *err)
{
	json_object *rules = NULL;
	struct sw_policy *pol, *old;
	const char *name = req_str(req, "name");
	struct sw_port *p;
	int r;

	json_object_object_get_ex(req, "rules", &rules);
	r = sw_policy_from_json(rules, &pol, err);
	if (r)
		return r;
	pthread_mutex_lock(&sw.lock);
	p = name ? port_by_name(name) : NULL;
	old = p ? p->policy : NULL;
	if (p)
		__atomic_store_n(&p->policy, pol, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&sw.lock);
	if (!p) {
		free(pol);
		return sw_error_set(err, ENOENT, "name", "no port named %s",
		                    name ? name : "(missing)");
	}
	/* Workers may still be evaluating the old rules. */
	rte_rcu_qsbr_synchronize(sw.qsbr, RTE_QSBR_THRID_INVALID);
	free(old);
	log_info("port %s: %u rules now", name, pol->nr_rules);
	return 0;
}

void sw_port_del_all(void)
{
	for (int i = 0; i < SW_MAX_PORTS; i++)
		if (sw.ports[i])
			port_remove(sw.ports[i]);
}

static json_object *port_to_json(const struct sw_port *p)
{
	json_object *o = json_object_new_object();
	json_object *d = json_object_new_object();
	char mac[18];

#define LOAD(x)                                                                \
	json_object_new_int64((int64_t)__atomic_load_n(&(x), __ATOMIC_RELAXED))
	json_object_object_add(o, "name", json_object_new_string(p->name));
	json_object_object_add(o, "path", json_object_new_string(p->path));
	json_object_object_add(o, "segment",
	                       json_object_new_string(p->seg->name));
	if (p->has_mac) {
		snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x",
		         p->mac[0], p->mac[1], p->mac[2], p->mac[3], p->mac[4],
		         p->mac[5]);
		json_object_object_add(o, "mac", json_object_new_string(mac));
	}
	json_object_object_add(o, "connected",
	                       json_object_new_boolean(p->ready));
	json_object_object_add(o, "rx_packets", LOAD(p->st.rx_packets));
	json_object_object_add(o, "rx_bytes", LOAD(p->st.rx_bytes));
	json_object_object_add(o, "tx_packets", LOAD(p->st.tx_packets));
	json_object_object_add(o, "tx_bytes", LOAD(p->st.tx_bytes));
	for (int i = 0; i < SW_DROP_MAX; i++)
		json_object_object_add(d, sw_drop_names[i],
		                       LOAD(p->st.drops[i]));
#undef LOAD
	json_object_object_add(o, "drops", d);
	sw_policy_to_json(p->policy, o);
	return o;
}

json_object *sw_ports_to_json(void)
{
	json_object *arr = json_object_new_array();

	pthread_mutex_lock(&sw.lock);
	for (int i = 0; i < SW_MAX_PORTS; i++)
		if (sw.ports[i])
			json_object_array_add(arr, port_to_json(sw.ports[i]));
	pthread_mutex_unlock(&sw.lock);
	return arr;
}

json_object *sw_segments_to_json(void)
{
	json_object *arr = json_object_new_array();

	pthread_mutex_lock(&sw.lock);
	for (int i = 0; i < SW_MAX_SEGMENTS; i++) {
		struct sw_segment *s = sw.segs[i];
		json_object *o;

		if (!s)
			continue;
		o = json_object_new_object();
		json_object_object_add(o, "name",
		                       json_object_new_string(s->name));
		json_object_object_add(o, "default",
		                       json_object_new_string(s->dflt == SW_DENY
		                                                  ? "deny"
		                                                  : "allow"));
		json_object_object_add(o, "ports",
		                       json_object_new_int((int)s->nr_ports));
		json_object_array_add(arr, o);
	}
	pthread_mutex_unlock(&sw.lock);
	return arr;
}
