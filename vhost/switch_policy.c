/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Frame parsing and allow-list rules for podvisor-switch. Plain C so the
 * rules are tested without DPDK; the switch calls sw_pkt_parse() once per
 * frame and sw_policy_eval() per direction.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "podvisor/switch.h"

#define ETH_HLEN       14
#define ETH_P_IPV4     0x0800
#define ETH_P_ARP      0x0806
#define ETH_P_8021Q    0x8100
#define IPPROTO_ICMP_V 1
#define IPPROTO_TCP_V  6
#define IPPROTO_UDP_V  17

int sw_error_set(struct sw_error *err, int errnum, const char *field,
                 const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return -errnum;
	snprintf(err->code, sizeof(err->code), "%s",
	         errnum == EINVAL   ? "invalid"
	         : errnum == ENOENT ? "not_found"
	         : errnum == EEXIST ? "conflict"
	         : errnum == EBUSY  ? "conflict"
	                            : "internal");
	snprintf(err->field, sizeof(err->field), "%s", field ? field : "");
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return -errnum;
}

static uint16_t get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static void parse_ipv4(const uint8_t *ip, size_t len, struct sw_pkt_meta *m)
{
	size_t ihl;
	uint16_t frag;

	if (len < 20 || (ip[0] >> 4) != 4)
		return;
	ihl = (size_t)(ip[0] & 0x0f) * 4;
	if (ihl < 20 || ihl > len)
		return;
	m->ipv4 = true;
	m->proto = ip[9];
	m->src_ip = get_be32(ip + 12);
	m->dst_ip = get_be32(ip + 16);
	/* Only the first fragment carries the L4 header. */
	frag = get_be16(ip + 6) & 0x1fff;
	if (frag != 0 || len < ihl + 4)
		return;
	if (m->proto != IPPROTO_TCP_V && m->proto != IPPROTO_UDP_V)
		return;
	m->has_ports = true;
	m->src_port = get_be16(ip + ihl);
	m->dst_port = get_be16(ip + ihl + 2);
}

int sw_pkt_parse(const void *frame, size_t len, struct sw_pkt_meta *m)
{
	const uint8_t *p = frame;
	size_t off = ETH_HLEN;

	memset(m, 0, sizeof(*m));
	if (len < ETH_HLEN)
		return -EINVAL;
	memcpy(m->dst_mac, p, 6);
	memcpy(m->src_mac, p + 6, 6);
	m->ethertype = get_be16(p + 12);
	if (m->ethertype == ETH_P_8021Q && len >= ETH_HLEN + 4) {
		m->ethertype = get_be16(p + 16);
		off += 4;
	}
	if (m->ethertype == ETH_P_IPV4)
		parse_ipv4(p + off, len - off, m);
	return 0;
}

int sw_mac_parse(const char *s, uint8_t mac[6])
{
	unsigned int b[6];
	char end;

	if (!s || strlen(s) != 17)
		return -EINVAL;
	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3],
	           &b[4], &b[5], &end) != 6)
		return -EINVAL;
	for (int i = 0; i < 6; i++) {
		if (!isxdigit((unsigned char)s[i * 3]) ||
		    !isxdigit((unsigned char)s[i * 3 + 1]))
			return -EINVAL;
		mac[i] = (uint8_t)b[i];
	}
	return 0;
}

/* "a.b.c.d" or "a.b.c.d/len" -> address and mask in host order. */
static int parse_prefix(const char *s, uint32_t *addr, uint32_t *mask)
{
	char buf[32];
	char *slash, *end;
	struct in_addr in;
	long plen = 32;

	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (slash) {
		*slash = '\0';
		errno = 0;
		plen = strtol(slash + 1, &end, 10);
		if (errno || end == slash + 1 || *end || plen < 0 || plen > 32)
			return -EINVAL;
	}
	if (inet_pton(AF_INET, buf, &in) != 1)
		return -EINVAL;
	*mask = plen == 0 ? 0 : ~0u << (32 - plen);
	*addr = ntohl(in.s_addr) & *mask;
	return 0;
}

/* N or "LO-HI", 0..65535. */
static int parse_port_range(json_object *v, uint16_t *lo, uint16_t *hi)
{
	const char *s;
	char *end;
	long a, b;

	if (json_object_is_type(v, json_type_int)) {
		a = (long)json_object_get_int64(v);
		b = a;
	} else if (json_object_is_type(v, json_type_string)) {
		s = json_object_get_string(v);
		errno = 0;
		a = strtol(s, &end, 10);
		if (errno || end == s)
			return -EINVAL;
		b = a;
		if (*end == '-') {
			s = end + 1;
			b = strtol(s, &end, 10);
			if (errno || end == s)
				return -EINVAL;
		}
		if (*end)
			return -EINVAL;
	} else {
		return -EINVAL;
	}
	if (a < 0 || b > 65535 || a > b)
		return -EINVAL;
	*lo = (uint16_t)a;
	*hi = (uint16_t)b;
	return 0;
}

static int parse_proto(json_object *v, struct sw_rule *r)
{
	static const struct {
		const char *name;
		uint16_t ethertype;
		int proto; /* -1: any IP protocol */
	} names[] = {
	    {"arp", ETH_P_ARP, -1},
	    {"ipv4", ETH_P_IPV4, -1},
	    {"icmp", ETH_P_IPV4, IPPROTO_ICMP_V},
	    {"tcp", ETH_P_IPV4, IPPROTO_TCP_V},
	    {"udp", ETH_P_IPV4, IPPROTO_UDP_V},
	};
	int64_t n;

	if (json_object_is_type(v, json_type_int)) {
		n = json_object_get_int64(v);
		if (n < 0 || n > 255)
			return -EINVAL;
		r->match |= SW_M_ETHERTYPE | SW_M_PROTO;
		r->ethertype = ETH_P_IPV4;
		r->proto = (uint8_t)n;
		return 0;
	}
	if (!json_object_is_type(v, json_type_string))
		return -EINVAL;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(json_object_get_string(v), names[i].name))
			continue;
		r->match |= SW_M_ETHERTYPE;
		r->ethertype = names[i].ethertype;
		if (names[i].proto >= 0) {
			r->match |= SW_M_PROTO;
			r->proto = (uint8_t)names[i].proto;
		}
		return 0;
	}
	return -EINVAL;
}

static int parse_enum(json_object *v, const char *const *names, int n)
{
	if (!json_object_is_type(v, json_type_string))
		return -EINVAL;
	for (int i = 0; i < n; i++)
		if (!strcmp(json_object_get_string(v), names[i]))
			return i;
	return -EINVAL;
}

static int key_action(struct sw_rule *r, json_object *v, bool src)
{
	static const char *const actions[] = {"allow", "deny"};
	int n = parse_enum(v, actions, 2);

	if (n < 0)
		return n;
	r->action = (uint8_t)n;
	return 0;
}

static int key_dir(struct sw_rule *r, json_object *v, bool src)
{
	static const char *const dirs[] = {"", "in", "out", "both"};
	int n = parse_enum(v, dirs, 4);

	if (n <= 0)
		return -EINVAL;
	r->dir = (uint8_t)n;
	return 0;
}

static int key_mac(struct sw_rule *r, json_object *v, bool src)
{
	if (!json_object_is_type(v, json_type_string) ||
	    sw_mac_parse(json_object_get_string(v),
	                 src ? r->src_mac : r->dst_mac))
		return -EINVAL;
	r->match |= src ? SW_M_SRC_MAC : SW_M_DST_MAC;
	return 0;
}

static int key_proto(struct sw_rule *r, json_object *v, bool src)
{
	return parse_proto(v, r);
}

static int key_ip(struct sw_rule *r, json_object *v, bool src)
{
	if (!json_object_is_type(v, json_type_string) ||
	    parse_prefix(json_object_get_string(v),
	                 src ? &r->src_ip : &r->dst_ip,
	                 src ? &r->src_mask : &r->dst_mask))
		return -EINVAL;
	r->match |= src ? SW_M_SRC_IP : SW_M_DST_IP;
	return 0;
}

static int key_port(struct sw_rule *r, json_object *v, bool src)
{
	if (parse_port_range(v, src ? &r->sport_lo : &r->dport_lo,
	                     src ? &r->sport_hi : &r->dport_hi))
		return -EINVAL;
	r->match |= src ? SW_M_SRC_PORT : SW_M_DST_PORT;
	return 0;
}

/* One row per rule field: its parser and what a valid value looks like. */
static const struct {
	const char *key;
	int (*parse)(struct sw_rule *r, json_object *v, bool src);
	bool src;
	const char *hint;
} rule_keys[] = {
    {"action", key_action, false, "must be \"allow\" or \"deny\""},
    {"dir", key_dir, false, "must be \"in\", \"out\" or \"both\""},
    {"src_mac", key_mac, true, "must look like 02:00:00:00:00:01"},
    {"dst_mac", key_mac, false, "must look like 02:00:00:00:00:01"},
    {"proto", key_proto, false,
     "must be arp, ipv4, icmp, tcp, udp or an IP protocol 0..255"},
    {"src_ip", key_ip, true,
     "must be an IPv4 address or prefix such as 10.0.0.0/24"},
    {"dst_ip", key_ip, false,
     "must be an IPv4 address or prefix such as 10.0.0.0/24"},
    {"src_port", key_port, true,
     "must be a port 0..65535 or a range \"LO-HI\""},
    {"dst_port", key_port, false,
     "must be a port 0..65535 or a range \"LO-HI\""},
};

/* One key of a rule object; idx is the rule's position, for messages. */
static int rule_key(struct sw_rule *r, const char *key, json_object *v,
                    unsigned int idx, struct sw_error *err)
{
	char field[64];

	snprintf(field, sizeof(field), "rules[%u].%s", idx, key);
	for (size_t i = 0; i < sizeof(rule_keys) / sizeof(rule_keys[0]); i++) {
		if (strcmp(key, rule_keys[i].key))
			continue;
		if (rule_keys[i].parse(r, v, rule_keys[i].src))
			return sw_error_set(err, EINVAL, field, "%s %s", field,
			                    rule_keys[i].hint);
		return 0;
	}
	return sw_error_set(err, EINVAL, field,
	                    "unknown rule field %s (known: action, dir, "
	                    "src_mac, dst_mac, proto, src_ip, dst_ip, "
	                    "src_port, dst_port)",
	                    field);
}

static int rule_from_json(json_object *o, unsigned int idx, struct sw_rule *r,
                          struct sw_error *err)
{
	char field[64];
	int rc;

	snprintf(field, sizeof(field), "rules[%u]", idx);
	if (!json_object_is_type(o, json_type_object))
		return sw_error_set(err, EINVAL, field,
		                    "%s must be an object such as "
		                    "{\"proto\":\"tcp\",\"dst_port\":80}",
		                    field);
	memset(r, 0, sizeof(*r));
	r->dir = SW_DIR_IN;
	r->action = SW_ALLOW;
	json_object_object_foreach(o, key, v)
	{
		rc = rule_key(r, key, v, idx, err);
		if (rc)
			return rc;
	}
	if ((r->match & (SW_M_SRC_PORT | SW_M_DST_PORT)) &&
	    !((r->match & SW_M_PROTO) &&
	      (r->proto == IPPROTO_TCP_V || r->proto == IPPROTO_UDP_V))) {
		snprintf(field, sizeof(field), "rules[%u].proto", idx);
		return sw_error_set(err, EINVAL, field,
		                    "%s must be \"tcp\" or \"udp\" when "
		                    "the rule matches a port",
		                    field);
	}
	if ((r->match & (SW_M_SRC_IP | SW_M_DST_IP)) &&
	    !(r->match & SW_M_ETHERTYPE)) {
		r->match |= SW_M_ETHERTYPE;
		r->ethertype = ETH_P_IPV4;
	}
	if ((r->match & (SW_M_SRC_IP | SW_M_DST_IP)) &&
	    r->ethertype != ETH_P_IPV4) {
		snprintf(field, sizeof(field), "rules[%u].proto", idx);
		return sw_error_set(err, EINVAL, field,
		                    "%s must be an IPv4 protocol when the "
		                    "rule matches an IPv4 address",
		                    field);
	}
	return 0;
}

int sw_policy_from_json(json_object *rules, struct sw_policy **out,
                        struct sw_error *err)
{
	struct sw_policy *p;
	size_t n = 0;
	int rc;

	*out = NULL;
	if (rules && !json_object_is_type(rules, json_type_array))
		return sw_error_set(err, EINVAL, "rules",
		                    "rules must be an array of rule objects");
	if (rules)
		n = json_object_array_length(rules);
	if (n > SW_MAX_RULES)
		return sw_error_set(err, EINVAL, "rules",
		                    "rules has %zu entries; at most %d are "
		                    "allowed per port",
		                    n, SW_MAX_RULES);
	p = calloc(1, sizeof(*p) + n * sizeof(p->rules[0]));
	if (!p)
		return sw_error_set(err, ENOMEM, "rules", "out of memory");
	for (size_t i = 0; i < n; i++) {
		rc = rule_from_json(json_object_array_get_idx(rules, i),
		                    (unsigned int)i, &p->rules[i], err);
		if (rc) {
			free(p);
			return rc;
		}
	}
	p->nr_rules = (unsigned int)n;
	*out = p;
	return 0;
}

static void add_mac(json_object *o, const char *key, const uint8_t m[6])
{
	char s[18];

	snprintf(s, sizeof(s), "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1],
	         m[2], m[3], m[4], m[5]);
	json_object_object_add(o, key, json_object_new_string(s));
}

static void add_prefix(json_object *o, const char *key, uint32_t a,
                       uint32_t mask)
{
	char s[24];
	int len = __builtin_popcount(mask);

	snprintf(s, sizeof(s), "%u.%u.%u.%u/%d", a >> 24, (a >> 16) & 255,
	         (a >> 8) & 255, a & 255, len);
	json_object_object_add(o, key, json_object_new_string(s));
}

static void add_range(json_object *o, const char *key, uint16_t lo, uint16_t hi)
{
	char s[16];

	if (lo == hi) {
		json_object_object_add(o, key, json_object_new_int(lo));
		return;
	}
	snprintf(s, sizeof(s), "%u-%u", lo, hi);
	json_object_object_add(o, key, json_object_new_string(s));
}

static json_object *rule_to_json(const struct sw_rule *r)
{
	static const char *const dirs[] = {"", "in", "out", "both"};
	json_object *o = json_object_new_object();

	json_object_object_add(
	    o, "action",
	    json_object_new_string(r->action == SW_DENY ? "deny" : "allow"));
	json_object_object_add(o, "dir", json_object_new_string(dirs[r->dir]));
	if (r->match & SW_M_SRC_MAC)
		add_mac(o, "src_mac", r->src_mac);
	if (r->match & SW_M_DST_MAC)
		add_mac(o, "dst_mac", r->dst_mac);
	if (r->match & SW_M_PROTO)
		json_object_object_add(o, "proto",
		                       json_object_new_int(r->proto));
	else if (r->match & SW_M_ETHERTYPE)
		json_object_object_add(
		    o, "proto",
		    json_object_new_string(r->ethertype == ETH_P_ARP ? "arp"
		                                                     : "ipv4"));
	if (r->match & SW_M_SRC_IP)
		add_prefix(o, "src_ip", r->src_ip, r->src_mask);
	if (r->match & SW_M_DST_IP)
		add_prefix(o, "dst_ip", r->dst_ip, r->dst_mask);
	if (r->match & SW_M_SRC_PORT)
		add_range(o, "src_port", r->sport_lo, r->sport_hi);
	if (r->match & SW_M_DST_PORT)
		add_range(o, "dst_port", r->dport_lo, r->dport_hi);
	return o;
}

int sw_policy_to_json(const struct sw_policy *p, json_object *obj)
{
	json_object *arr = json_object_new_array();

	if (!arr)
		return -ENOMEM;
	for (unsigned int i = 0; p && i < p->nr_rules; i++)
		json_object_array_add(arr, rule_to_json(&p->rules[i]));
	json_object_object_add(obj, "rules", arr);
	return 0;
}

static bool rule_matches(const struct sw_rule *r, const struct sw_pkt_meta *m)
{
	uint32_t f = r->match;

	if ((f & SW_M_SRC_MAC) && memcmp(r->src_mac, m->src_mac, 6))
		return false;
	if ((f & SW_M_DST_MAC) && memcmp(r->dst_mac, m->dst_mac, 6))
		return false;
	if ((f & SW_M_ETHERTYPE) && r->ethertype != m->ethertype)
		return false;
	/* IPv4 fields need a parsed IPv4 header: a truncated one never
	 * matches, so it cannot slip past a deny rule written for it. */
	if ((f & (SW_M_PROTO | SW_M_SRC_IP | SW_M_DST_IP)) && !m->ipv4)
		return false;
	if ((f & SW_M_PROTO) && r->proto != m->proto)
		return false;
	if ((f & SW_M_SRC_IP) && (m->src_ip & r->src_mask) != r->src_ip)
		return false;
	if ((f & SW_M_DST_IP) && (m->dst_ip & r->dst_mask) != r->dst_ip)
		return false;
	if ((f & (SW_M_SRC_PORT | SW_M_DST_PORT)) && !m->has_ports)
		return false;
	if ((f & SW_M_SRC_PORT) &&
	    (m->src_port < r->sport_lo || m->src_port > r->sport_hi))
		return false;
	if ((f & SW_M_DST_PORT) &&
	    (m->dst_port < r->dport_lo || m->dst_port > r->dport_hi))
		return false;
	return true;
}

enum sw_action sw_policy_eval(const struct sw_policy *p, enum sw_dir dir,
                              const struct sw_pkt_meta *m, enum sw_action dflt)
{
	for (unsigned int i = 0; p && i < p->nr_rules; i++) {
		const struct sw_rule *r = &p->rules[i];

		if ((r->dir & dir) && rule_matches(r, m))
			return (enum sw_action)r->action;
	}
	return dflt;
}
