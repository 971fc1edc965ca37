/* SPDX-License-Identifier: Apache-2.0 */
/*
 * podvisor-switch: the parts other folders and tests rely on.
 *
 * 1. The control protocol. podvisor-switch listens on a UNIX stream socket
 *    (default SW_DEFAULT_CONTROL, "--control PATH"). A client writes one
 *    JSON object per line; the switch answers each with one JSON object on
 *    one line, in order. Success is {"ok": true, ...}; failure is
 *    {"ok": false, "error": {"code": C, "message": M, "field": F}} with the
 *    same codes as the REST API: "invalid" (bad field, F names it),
 *    "not_found", "conflict" (duplicate), "internal".
 *
 *    {"op":"segment_add","name":"blue","default":"allow"|"deny"}
 *    {"op":"segment_del","name":"blue"}            (no ports may remain)
 *    {"op":"port_add","name":"vm1-eth0","path":"/run/podvisor/vm1.net0",
 *     "segment":"blue","mac":"02:00:00:00:00:01","rules":[RULE...]}
 *        path is the vhost-user socket the VMM (or testpmd) listens on; the
 *        switch connects as client and reconnects. mac is optional: when
 *        given it is a static MAC table entry and frames from the port
 *        with another source MAC are dropped (reason "spoof").
 *    {"op":"port_del","name":"vm1-eth0"}
 *    {"op":"port_rules","name":"vm1-eth0","rules":[RULE...]}
 *        replaces the port's rules while traffic flows
 *    {"op":"port_list"}  -> {"ok":true,"ports":[{"name","path","segment",
 *        "mac","connected","rx_packets","rx_bytes","tx_packets","tx_bytes",
 *        "drops":{"policy_out","policy_in","tx_full","no_link","runt",
 *        "spoof","loop"}}]}
 *    {"op":"mac_table"} -> {"ok":true,"entries":[{"segment","mac","port",
 *        "static","age"}]}
 *    {"op":"segment_list"} -> {"ok":true,"segments":[{"name","default",
 *        "ports"}]}
 *
 *    "--config FILE" runs a JSON array of these requests at start (a
 *    restarted switch gets its ports back that way, or from the daemon).
 *    Command line: podvisor-switch <EAL args> -- [--control PATH]
 *    [--config FILE] [--age SECONDS] [--mac-table-size N] [--log-level L];
 *    the main lcore serves control, every other lcore polls ports. Exit
 *    codes: 0 stopped by SIGINT/SIGTERM, 1 runtime error, 2 bad arguments.
 *
 * 2. Rules (micro-segmentation). A port's "rules" is an ordered allow-list;
 *    the first rule whose fields all match decides. A RULE is an object:
 *      "action":   "allow" (default) | "deny"
 *      "dir":      "in" (default: frames delivered to this port) | "out"
 *                  (frames this port sends) | "both"
 *      "src_mac", "dst_mac": "xx:xx:xx:xx:xx:xx"
 *      "proto":    "arp" | "ipv4" | "icmp" | "tcp" | "udp" | 0..255
 *      "src_ip", "dst_ip": "a.b.c.d" or "a.b.c.d/len" (implies IPv4)
 *      "src_port", "dst_port": N or "LO-HI" (needs proto tcp or udp)
 *    When no rule matches, "in" frames get the segment's default and "out"
 *    frames are allowed. Denied frames are counted and dropped.
 *
 * The policy code below is plain C (no DPDK) so it is unit-tested alone.
 */
#ifndef PODVISOR_SWITCH_H
#define PODVISOR_SWITCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct json_object;

#define SW_DEFAULT_CONTROL "/run/podvisor/switch.sock"
#define SW_NAME_MAX        32  /* port and segment names, with the NUL */
#define SW_MAX_RULES       256 /* per port */

enum sw_dir {
	SW_DIR_IN = 1,
	SW_DIR_OUT = 2,
	SW_DIR_BOTH = 3,
};

enum sw_action {
	SW_ALLOW = 0,
	SW_DENY = 1,
};

/* What the datapath extracts from one frame; addresses in host order. */
struct sw_pkt_meta {
	uint8_t dst_mac[6];
	uint8_t src_mac[6];
	uint16_t ethertype; /* after at most one 802.1Q tag */
	bool ipv4;
	bool has_ports; /* TCP/UDP, first fragment, header present */
	uint8_t proto;
	uint32_t src_ip;
	uint32_t dst_ip;
	uint16_t src_port;
	uint16_t dst_port;
};

enum sw_match {
	SW_M_SRC_MAC = 1u << 0,
	SW_M_DST_MAC = 1u << 1,
	SW_M_ETHERTYPE = 1u << 2,
	SW_M_PROTO = 1u << 3,
	SW_M_SRC_IP = 1u << 4,
	SW_M_DST_IP = 1u << 5,
	SW_M_SRC_PORT = 1u << 6,
	SW_M_DST_PORT = 1u << 7,
};

struct sw_rule {
	uint32_t match; /* enum sw_match bits: the fields that must match */
	uint8_t dir;    /* enum sw_dir */
	uint8_t action; /* enum sw_action */
	uint8_t proto;
	uint16_t ethertype;
	uint8_t src_mac[6];
	uint8_t dst_mac[6];
	uint32_t src_ip, src_mask;
	uint32_t dst_ip, dst_mask;
	uint16_t sport_lo, sport_hi;
	uint16_t dport_lo, dport_hi;
};

struct sw_policy {
	unsigned int nr_rules;
	struct sw_rule rules[];
};

/* A refusal that names the offending field, e.g. "rules[1].dst_ip". */
struct sw_error {
	char code[16];
	char field[64];
	char message[192];
};

/* Fills err and returns -errno (the errno is the return value). */
int sw_error_set(struct sw_error *err, int errnum, const char *field,
                 const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/*
 * Parses an Ethernet frame. Returns 0, or -EINVAL when the frame is shorter
 * than an Ethernet header (a runt). IPv4 and L4 fields are filled only when
 * their headers are wholly inside len.
 */
int sw_pkt_parse(const void *frame, size_t len, struct sw_pkt_meta *m);

/* Parses "xx:xx:xx:xx:xx:xx" (hex, either case). Returns 0 or -EINVAL. */
int sw_mac_parse(const char *s, uint8_t mac[6]);

/*
 * Builds a policy from a JSON array of RULE objects (NULL = no rules).
 * On success *out is a malloc'ed policy (free()) and 0 is returned; on a
 * malformed rule err names the field ("rules[2].src_ip") and -EINVAL is
 * returned.
 */
int sw_policy_from_json(struct json_object *rules, struct sw_policy **out,
                        struct sw_error *err);

/* Appends the rules as a JSON array to obj under key "rules". */
int sw_policy_to_json(const struct sw_policy *p, struct json_object *obj);

/*
 * Verdict for one frame in one direction: the first matching rule whose dir
 * includes dir decides; otherwise dflt. p may be NULL (no rules).
 */
enum sw_action sw_policy_eval(const struct sw_policy *p, enum sw_dir dir,
                              const struct sw_pkt_meta *m, enum sw_action dflt);

#endif
