/* SPDX-License-Identifier: Apache-2.0 */
/* The switch's frame parser and allow-list rules (vhost/switch_policy.c). */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "podvisor/switch.h"

/* Ethernet + IPv4 + UDP 10.0.0.1:1234 -> 10.0.0.2:53 (or proto). */
static size_t make_frame(uint8_t *f, uint8_t proto, uint16_t dport, bool vlan)
{
	static const uint8_t dst[6] = {2, 0, 0, 0, 0, 2};
	static const uint8_t src[6] = {2, 0, 0, 0, 0, 1};
	size_t o = 12;

	memset(f, 0, 128);
	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	if (vlan) {
		f[o++] = 0x81;
		f[o++] = 0x00;
		f[o++] = 0x00;
		f[o++] = 0x07;
	}
	f[o++] = 0x08;
	f[o++] = 0x00;
	f[o] = 0x45;
	f[o + 9] = proto;
	memcpy(f + o + 12, (uint8_t[]){10, 0, 0, 1}, 4);
	memcpy(f + o + 16, (uint8_t[]){10, 0, 0, 2}, 4);
	f[o + 20] = 1234 >> 8;
	f[o + 21] = 1234 & 255;
	f[o + 22] = (uint8_t)(dport >> 8);
	f[o + 23] = (uint8_t)dport;
	return o + 28;
}

static struct sw_policy *policy(const char *json, struct sw_error *err)
{
	json_object *o = json_tokener_parse(json);
	struct sw_policy *p = NULL;
	int r;

	ck_assert_ptr_nonnull(o);
	r = sw_policy_from_json(o, &p, err);
	json_object_put(o);
	if (r)
		ck_assert_ptr_null(p);
	return p;
}

START_TEST(parse_udp_frame)
{
	uint8_t f[128];
	struct sw_pkt_meta m;
	size_t len = make_frame(f, 17, 53, false);

	ck_assert_int_eq(sw_pkt_parse(f, len, &m), 0);
	ck_assert_uint_eq(m.ethertype, 0x0800);
	ck_assert(m.ipv4 && m.has_ports);
	ck_assert_uint_eq(m.proto, 17);
	ck_assert_uint_eq(m.src_ip, 0x0a000001);
	ck_assert_uint_eq(m.dst_ip, 0x0a000002);
	ck_assert_uint_eq(m.src_port, 1234);
	ck_assert_uint_eq(m.dst_port, 53);
	ck_assert_uint_eq(m.src_mac[5], 1);
	ck_assert_uint_eq(m.dst_mac[5], 2);
}
END_TEST

START_TEST(parse_vlan_and_truncated)
{
	uint8_t f[128];
	struct sw_pkt_meta m;
	size_t len = make_frame(f, 6, 80, true);

	ck_assert_int_eq(sw_pkt_parse(f, len, &m), 0);
	ck_assert(m.ipv4 && m.has_ports);
	ck_assert_uint_eq(m.dst_port, 80);
	/* IPv4 header cut short: no IP fields, not a runt either. */
	ck_assert_int_eq(sw_pkt_parse(f, 18 + 10, &m), 0);
	ck_assert(!m.ipv4 && !m.has_ports);
	ck_assert_int_eq(sw_pkt_parse(f, 13, &m), -EINVAL);
}
END_TEST

START_TEST(parse_later_fragment_has_no_ports)
{
	uint8_t f[128];
	struct sw_pkt_meta m;
	size_t len = make_frame(f, 17, 53, false);

	f[14 + 7] = 0x10; /* fragment offset 16 */
	ck_assert_int_eq(sw_pkt_parse(f, len, &m), 0);
	ck_assert(m.ipv4 && !m.has_ports);
}
END_TEST

START_TEST(first_match_wins_and_default)
{
	struct sw_error err = {0};
	struct sw_policy *p =
	    policy("[{\"action\":\"deny\",\"proto\":\"udp\",\"dst_port\":53},"
	           " {\"proto\":\"udp\",\"dst_ip\":\"10.0.0.0/24\"}]",
	           &err);
	uint8_t f[128];
	struct sw_pkt_meta m;

	ck_assert_ptr_nonnull(p);
	sw_pkt_parse(f, make_frame(f, 17, 53, false), &m);
	ck_assert_int_eq(sw_policy_eval(p, SW_DIR_IN, &m, SW_ALLOW), SW_DENY);
	sw_pkt_parse(f, make_frame(f, 17, 54, false), &m);
	ck_assert_int_eq(sw_policy_eval(p, SW_DIR_IN, &m, SW_DENY), SW_ALLOW);
	/* TCP matches neither rule: the default decides. */
	sw_pkt_parse(f, make_frame(f, 6, 53, false), &m);
	ck_assert_int_eq(sw_policy_eval(p, SW_DIR_IN, &m, SW_DENY), SW_DENY);
	ck_assert_int_eq(sw_policy_eval(p, SW_DIR_IN, &m, SW_ALLOW), SW_ALLOW);
	/* Rules default to "in": an "out" frame is not affected. */
	sw_pkt_parse(f, make_frame(f, 17, 53, false), &m);
	ck_assert_int_eq(sw_policy_eval(p, SW_DIR_OUT, &m, SW_ALLOW), SW_ALLOW);
	free(p);
}
END_TEST

START_TEST(prefix_port_range_mac_and_dir)
{
	struct sw_error err = {0};
	struct sw_policy *p = policy(
	    "[{\"dir\":\"out\",\"action\":\"deny\",\"src_ip\":\"10.0.0.0/"
	    "31\"},"
	    " {\"dir\":\"both\",\"proto\":\"udp\",\"dst_port\":\"50-60\","
	    "  \"src_mac\":\"02:00:00:00:00:01\"}]",
	    &err);
	uint8_t f[128];
	struct sw_pkt_meta m;

	ck_assert_ptr_nonnull(p);
	sw_pkt_parse(f, make_frame(f, 17, 53, false), &m);
	ck_assert_int_eq(sw_policy_eval(p, SW_DIR_OUT, &m, SW_ALLOW), SW_DENY);
	ck_assert_int_eq(sw_policy_eval(p, SW_DIR_IN, &m, SW_DENY), SW_ALLOW);
	sw_pkt_parse(f, make_frame(f, 17, 61, false), &m);
	ck_assert_int_eq(sw_policy_eval(p, SW_DIR_IN, &m, SW_DENY), SW_DENY);
	m.src_mac[5] = 9;
	m.dst_port = 55;
	ck_assert_int_eq(sw_policy_eval(p, SW_DIR_IN, &m, SW_DENY), SW_DENY);
	m.src_ip = 0x0a000002; /* outside 10.0.0.0/31 */
	ck_assert_int_eq(sw_policy_eval(p, SW_DIR_OUT, &m, SW_ALLOW), SW_ALLOW);
	free(p);
}
END_TEST

START_TEST(arp_rule_does_not_match_ipv4)
{
	struct sw_error err = {0};
	struct sw_policy *p = policy("[{\"proto\":\"arp\"}]", &err);
	uint8_t f[128];
	struct sw_pkt_meta m;

	sw_pkt_parse(f, make_frame(f, 17, 53, false), &m);
	ck_assert_int_eq(sw_policy_eval(p, SW_DIR_IN, &m, SW_DENY), SW_DENY);
	f[12] = 0x08;
	f[13] = 0x06;
	sw_pkt_parse(f, 60, &m);
	ck_assert_int_eq(sw_policy_eval(p, SW_DIR_IN, &m, SW_DENY), SW_ALLOW);
	free(p);
}
END_TEST

static void expect_error(const char *json, const char *field)
{
	struct sw_error err = {0};
	struct sw_policy *p = policy(json, &err);

	ck_assert_ptr_null(p);
	ck_assert_str_eq(err.code, "invalid");
	ck_assert_str_eq(err.field, field);
	ck_assert_ptr_nonnull(strstr(err.message, field));
}

START_TEST(malformed_rules_name_the_field)
{
	expect_error("[{\"src_ip\":\"10.0.0.300\"}]", "rules[0].src_ip");
	expect_error("[{}, {\"dst_ip\":\"10.0.0.0/33\"}]", "rules[1].dst_ip");
	expect_error("[{\"proto\":\"udp\",\"dst_port\":70000}]",
	             "rules[0].dst_port");
	expect_error("[{\"proto\":\"udp\",\"dst_port\":\"9-3\"}]",
	             "rules[0].dst_port");
	expect_error("[{\"dst_port\":80}]", "rules[0].proto");
	expect_error("[{\"proto\":\"arp\",\"src_ip\":\"1.2.3.4\"}]",
	             "rules[0].proto");
	expect_error("[{\"proto\":\"sctpx\"}]", "rules[0].proto");
	expect_error("[{\"action\":\"drop\"}]", "rules[0].action");
	expect_error("[{\"dir\":\"up\"}]", "rules[0].dir");
	expect_error("[{\"src_mac\":\"02:00:00:00:00\"}]", "rules[0].src_mac");
	expect_error("[{\"colour\":\"red\"}]", "rules[0].colour");
	expect_error("[3]", "rules[0]");
	expect_error("{\"proto\":\"udp\"}", "rules");
}
END_TEST

START_TEST(rules_round_trip_to_json)
{
	struct sw_error err = {0};
	struct sw_policy *p = policy(
	    "[{\"action\":\"deny\",\"proto\":\"tcp\",\"dst_port\":\"80-81\","
	    "\"dst_ip\":\"192.168.1.7\"}]",
	    &err);
	json_object *o = json_object_new_object(), *rules, *r, *v;

	ck_assert_int_eq(sw_policy_to_json(p, o), 0);
	ck_assert(json_object_object_get_ex(o, "rules", &rules));
	ck_assert_uint_eq(json_object_array_length(rules), 1);
	r = json_object_array_get_idx(rules, 0);
	ck_assert(json_object_object_get_ex(r, "dst_ip", &v));
	ck_assert_str_eq(json_object_get_string(v), "192.168.1.7/32");
	ck_assert(json_object_object_get_ex(r, "dst_port", &v));
	ck_assert_str_eq(json_object_get_string(v), "80-81");
	ck_assert(json_object_object_get_ex(r, "action", &v));
	ck_assert_str_eq(json_object_get_string(v), "deny");
	json_object_put(o);
	free(p);
}
END_TEST

START_TEST(mac_parse)
{
	uint8_t mac[6];

	ck_assert_int_eq(sw_mac_parse("02:aB:00:00:00:ff", mac), 0);
	ck_assert_uint_eq(mac[1], 0xab);
	ck_assert_uint_eq(mac[5], 0xff);
	ck_assert_int_eq(sw_mac_parse("02:ab:00:00:00:f", mac), -EINVAL);
	ck_assert_int_eq(sw_mac_parse("02:ab:00:00:00:fg", mac), -EINVAL);
	ck_assert_int_eq(sw_mac_parse("02-ab-00-00-00-ff", mac), -EINVAL);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("switch_policy");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, parse_udp_frame);
	tcase_add_test(tc, parse_vlan_and_truncated);
	tcase_add_test(tc, parse_later_fragment_has_no_ports);
	tcase_add_test(tc, first_match_wins_and_default);
	tcase_add_test(tc, prefix_port_range_mac_and_dir);
	tcase_add_test(tc, arp_rule_does_not_match_ipv4);
	tcase_add_test(tc, malformed_rules_name_the_field);
	tcase_add_test(tc, rules_round_trip_to_json);
	tcase_add_test(tc, mac_parse);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
