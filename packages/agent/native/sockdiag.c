/* The N-API face of the native sock_diag reader (issue 14), loaded by the packaged agent from
 * beside its executable (packages/agent/src/sockdiag-native/load.ts):
 *   dumpListening(): Buffer of SD_RECORD_SIZE records (sockdiag.h) for the agent's namespace
 *   dumpSockets(family 4|6, protocol 'tcp'|'udp'): the same records, every socket of that table
 *     in every state (what /proc/net/{tcp,tcp6,udp,udp6} lists), one dump
 *   enterEach(paths, keys): per /proc/PID/ns/net path { records: Buffer|null,
 *     sysctls: string[]|null (path, value, path, value, ...), error: string|null,
 *     inode: the namespace's inode as opened (0 when it did not open) }
 * Failures throw an Error whose code is the errno name and whose message names the step.
 * Nothing here interprets the records: the TypeScript side walks them. */
#define _GNU_SOURCE /* strerrorname_np */
#include "sockdiag.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>

#define NAPI_VERSION 8
#include <node_api.h>

#define CHECK(call) do { if ((call) != napi_ok) goto fail; } while (0)

static napi_value throw_errno(napi_env env, int error, const char *what) {
  char message[256];
  snprintf(message, sizeof message, "%s: %s", what ? what : "sock_diag", strerror(-error));
  const char *code = strerrorname_np(-error);
  napi_throw_error(env, code ? code : "EIO", message);
  return NULL;
}

static napi_value records_or_throw(napi_env env, int rc, struct sd_records *records, const char *why) {
  if (rc < 0) {
    sd_records_free(records);
    return throw_errno(env, rc, why);
  }
  napi_value buffer = NULL;
  napi_status status = napi_create_buffer_copy(env, records->len, records->len ? (const void *)records->data : (const void *)"", NULL, &buffer);
  sd_records_free(records);
  return status == napi_ok ? buffer : NULL;
}

static napi_value dump_listening(napi_env env, napi_callback_info info) {
  (void)info;
  struct sd_records records = {0};
  const char *why = NULL;
  int rc = sd_dump_listening(&records, &why);
  return records_or_throw(env, rc, &records, why);
}

static napi_value dump_sockets(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  uint32_t family = 0;
  char protocol[8] = "";
  size_t len = 0;
  if (argc < 2 || napi_get_value_uint32(env, argv[0], &family) != napi_ok || (family != 4 && family != 6)) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_VALUE", "dumpSockets(family, protocol): family must be 4 or 6");
    return NULL;
  }
  if (napi_get_value_string_utf8(env, argv[1], protocol, sizeof protocol, &len) != napi_ok || (strcmp(protocol, "tcp") != 0 && strcmp(protocol, "udp") != 0)) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_VALUE", "dumpSockets(family, protocol): protocol must be 'tcp' or 'udp'");
    return NULL;
  }
  struct sd_records records = {0};
  const char *why = NULL;
  int rc = sd_dump(family == 4 ? AF_INET : AF_INET6, protocol[0] == 't' ? IPPROTO_TCP : IPPROTO_UDP, SD_ALL_STATES, &records, &why);
  return records_or_throw(env, rc, &records, why);
}

/* A JS array of strings as NUL-terminated C strings; NULL (and an exception) on a wrong type. */
static char **strings_of(napi_env env, napi_value array, uint32_t *count, const char *name) {
  bool is_array = false;
  if (napi_is_array(env, array, &is_array) != napi_ok || !is_array) {
    char message[96];
    snprintf(message, sizeof message, "%s must be an array of strings", name);
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", message);
    return NULL;
  }
  if (napi_get_array_length(env, array, count) != napi_ok) return NULL;
  char **out = calloc(*count + 1, sizeof *out);
  if (!out) return NULL;
  for (uint32_t i = 0; i < *count; i++) {
    napi_value item;
    size_t len = 0;
    if (napi_get_element(env, array, i, &item) != napi_ok || napi_get_value_string_utf8(env, item, NULL, 0, &len) != napi_ok) {
      napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", name);
      goto fail;
    }
    out[i] = malloc(len + 1);
    if (!out[i] || napi_get_value_string_utf8(env, item, out[i], len + 1, &len) != napi_ok) goto fail;
  }
  return out;
fail:
  for (uint32_t i = 0; i < *count; i++) free(out[i]);
  free(out);
  return NULL;
}

static void free_strings(char **strings, uint32_t count) {
  if (!strings) return;
  for (uint32_t i = 0; i < count; i++) free(strings[i]);
  free(strings);
}

static napi_value result_object(napi_env env, const struct sd_namespace_result *r) {
  napi_value object, records, sysctls, error, null;
  CHECK(napi_create_object(env, &object));
  CHECK(napi_get_null(env, &null));
  records = sysctls = error = null;
  if (r->error < 0) {
    char message[256];
    snprintf(message, sizeof message, "%s: %s", r->why ? r->why : "sock_diag", strerror(-r->error));
    CHECK(napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &error));
  } else {
    CHECK(napi_create_buffer_copy(env, r->records.len, r->records.len ? (const void *)r->records.data : (const void *)"", NULL, &records));
    uint32_t n = 0;
    for (size_t at = 0; at < r->sysctls.len; at += strlen(r->sysctls.data + at) + 1) n++;
    CHECK(napi_create_array_with_length(env, n, &sysctls));
    uint32_t i = 0;
    for (size_t at = 0; at < r->sysctls.len; at += strlen(r->sysctls.data + at) + 1) {
      napi_value s;
      CHECK(napi_create_string_utf8(env, r->sysctls.data + at, NAPI_AUTO_LENGTH, &s));
      CHECK(napi_set_element(env, sysctls, i++, s));
    }
  }
  CHECK(napi_set_named_property(env, object, "records", records));
  CHECK(napi_set_named_property(env, object, "sysctls", sysctls));
  CHECK(napi_set_named_property(env, object, "error", error));
  napi_value inode;
  CHECK(napi_create_double(env, (double)r->inode, &inode));
  CHECK(napi_set_named_property(env, object, "inode", inode));
  return object;
fail:
  return NULL;
}

static napi_value enter_each(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 2) {
    napi_throw_type_error(env, "ERR_MISSING_ARGS", "enterEach(paths, keys) needs both arguments");
    return NULL;
  }
  uint32_t npaths = 0, nkeys = 0;
  char **paths = strings_of(env, argv[0], &npaths, "paths");
  if (!paths) return NULL;
  char **keys = strings_of(env, argv[1], &nkeys, "keys");
  if (!keys) { free_strings(paths, npaths); return NULL; }
  struct sd_namespace_result *results = calloc(npaths ? npaths : 1, sizeof *results);
  napi_value out = NULL;
  const char *why = NULL;
  int rc = results ? sd_enter_each((const char *const *)paths, npaths, (const char *const *)keys, nkeys, results, &why) : -ENOMEM;
  if (rc < 0) {
    throw_errno(env, rc, why);
  } else if (napi_create_array_with_length(env, npaths, &out) == napi_ok) {
    for (uint32_t i = 0; i < npaths; i++) {
      napi_value item = result_object(env, &results[i]);
      if (!item || napi_set_element(env, out, i, item) != napi_ok) { out = NULL; break; }
    }
  }
  for (uint32_t i = 0; results && i < npaths; i++) {
    sd_records_free(&results[i].records);
    sd_text_free(&results[i].sysctls);
  }
  free(results);
  free_strings(paths, npaths);
  free_strings(keys, nkeys);
  return out;
}

NAPI_MODULE_INIT(/* napi_env env, napi_value exports */) {
  napi_value fn, size;
  if (napi_create_function(env, "dumpListening", NAPI_AUTO_LENGTH, dump_listening, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "dumpListening", fn) != napi_ok) return NULL;
  if (napi_create_function(env, "dumpSockets", NAPI_AUTO_LENGTH, dump_sockets, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "dumpSockets", fn) != napi_ok) return NULL;
  if (napi_create_function(env, "enterEach", NAPI_AUTO_LENGTH, enter_each, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "enterEach", fn) != napi_ok) return NULL;
  if (napi_create_uint32(env, SD_RECORD_SIZE, &size) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "recordSize", size) != napi_ok) return NULL;
  return exports;
}
