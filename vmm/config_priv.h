/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers shared by the config.c, config_check.c and config_cli.c. */
#ifndef PODVISOR_VMM_CONFIG_PRIV_H
#define PODVISOR_VMM_CONFIG_PRIV_H

#include <json-c/json.h>

#include "podvisor/config.h"

/* Fills err and returns -EINVAL. */
int cfg_fail(struct vm_config_error *err, const char *field, const char *fmt,
             ...) __attribute__((format(printf, 3, 4)));
/* Replaces *dst with a copy of v. */
int cfg_set_str(char **dst, const char *v);
int cfg_parse_pvm(const char *s, enum vm_pvm_profile *out);
int cfg_parse_seccomp(const char *s, enum vm_seccomp *out);
int cfg_unknown_key(struct vm_config_error *err, const char *where,
                    const char *key, const char *const *known);
int cfg_json_str(json_object *v, const char *field, char **dst,
                 struct vm_config_error *err);
int cfg_json_bool(json_object *v, const char *field, bool *dst,
                  struct vm_config_error *err);
int cfg_json_uint(json_object *v, const char *field, uint64_t max,
                  uint64_t *dst, struct vm_config_error *err);
int cfg_json_int(json_object *v, const char *field, int min, int max, int *dst,
                 struct vm_config_error *err);

#endif
