// SPDX-License-Identifier: Apache-2.0
/* Route table matching: pure string work, no I/O. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "podvisor/api.h"

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decodes src[0..len) into dst; a '%' not followed by two hex
 * digits, or a decoded NUL or '/', is kept literally so it cannot change
 * the meaning of the segment. */
static int decode_segment(const char *src, size_t len, char *dst,
                          size_t dst_size)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		char c = src[i];

		if (c == '%' && i + 2 < len) {
			int hi = hexval(src[i + 1]);
			int lo = hexval(src[i + 2]);

			if (hi >= 0 && lo >= 0 && (hi || lo) &&
			    (hi << 4 | lo) != '/') {
				c = (char)(hi << 4 | lo);
				i += 2;
			}
		}
		if (o + 1 >= dst_size)
			return -ENAMETOOLONG;
		dst[o++] = c;
	}
	dst[o] = '\0';
	return 0;
}

/* Next segment of a path starting after a '/'; returns its length. */
static size_t seg_len(const char *s)
{
	const char *slash = strchr(s, '/');

	return slash ? (size_t)(slash - s) : strlen(s);
}

static int match_one(const char *pattern, const char *path,
                     struct api_params *params)
{
	const char *pp = pattern, *sp = path;

	params->n = 0;
	if (*pp != '/' || *sp != '/')
		return -ENOENT;
	for (;;) {
		size_t pl, sl;

		pp++;
		sp++;
		pl = seg_len(pp);
		sl = seg_len(sp);
		/* One trailing slash on the request is accepted. */
		if (pp[pl] == '\0' && sp[sl] == '/' && sp[sl + 1] == '\0' &&
		    sl > 0) {
			/* handled below as the last segment */
		} else if ((pp[pl] == '\0') != (sp[sl] == '\0')) {
			return -ENOENT;
		}
		if (sl == 0)
			return -ENOENT;
		if (pl >= 2 && pp[0] == '{' && pp[pl - 1] == '}') {
			int r;

			if (params->n >= API_MAX_PARAMS)
				return -ENOENT;
			params->p[params->n].name = pp + 1;
			params->p[params->n].name_len = pl - 2;
			r = decode_segment(sp, sl, params->p[params->n].value,
			                   API_PARAM_VALUE_MAX);
			if (r < 0)
				return r;
			params->n++;
		} else if (pl != sl || memcmp(pp, sp, pl) != 0) {
			return -ENOENT;
		}
		if (pp[pl] == '\0')
			return 0;
		pp += pl;
		sp += sl;
	}
}

int api_route_match(const struct api_route *routes, size_t nr,
                    const char *method, const char *path,
                    const struct api_route **route, struct api_params *params)
{
	int res = -ENOENT;

	for (size_t i = 0; i < nr; i++) {
		struct api_params tmp;
		int r = match_one(routes[i].pattern, path, &tmp);

		if (r == -ENAMETOOLONG)
			return r;
		if (r < 0)
			continue;
		if (strcmp(routes[i].method, method) != 0) {
			res = -EOPNOTSUPP;
			continue;
		}
		*route = &routes[i];
		*params = tmp;
		return 0;
	}
	return res;
}
