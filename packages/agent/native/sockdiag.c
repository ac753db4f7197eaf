/* The N-API face of the native sock_diag reader (issue 14), loaded by the packaged agent from
 * beside its executable (packages/agent/src/sockdiag-native/load.ts):
 *   dumpListening(): Buffer of SD_RECORD_SIZE records (sockdiag.h) for the agent's namespace
 *   dumpSockets(family 4|6, protocol 'tcp'|'udp'): the same records, every socket of that table
 *     in every state (what /proc/net/{tcp,tcp6,udp,udp6} lists), one dump
 *   dumpSocketsAsync(family, protocol): the same on a libuv threadpool thread, a Promise of the
 *     Buffer: the tables dump in parallel, beside the agent's other sources
 *   enterEach(paths, keys): per /proc/PID/ns/net path { records: Buffer|null,
 *     sysctls: string[]|null (path, value, path, value, ...), error: string|null,
 *     inode: the namespace's inode as opened (0 when it did not open) }
 *   fdSocketsAsync(proc, pids Int32Array, skip, limit, wanted Float64Array sorted): the owners
 *     source's fd walk (fd-sockets.h) on a threadpool thread, a Promise of a Float64Array
 * Failures throw an Error whose code is the errno name and whose message names the step.
 * Nothing here interprets the records: the TypeScript side walks them. */
#define _GNU_SOURCE /* strerrorname_np */
#include "sockdiag.h"
#include "fd-sockets.h"

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

static void free_records_data(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  free(data);
}

/* The records as a Buffer over the C allocation itself, freed when the Buffer is collected: at
 * 100k sockets a copy was 6.4 MB more at the peak (four tables dump at once). A runtime that
 * allows no external buffers (a V8 sandbox) gets a copy. Takes the records either way. */
static napi_status records_buffer(napi_env env, struct sd_records *records, napi_value *out) {
  if (records->len > 0) {
    /* Growth doubled the allocation: give back what the records do not use (in place, as a
     * rule: large blocks are mmap'd and mremap shrinks them). */
    uint8_t *fitted = records->cap > records->len ? realloc(records->data, records->len) : NULL;
    if (fitted) {
      records->data = fitted;
      records->cap = records->len;
    }
    napi_status status = napi_create_external_buffer(env, records->len, records->data, free_records_data, NULL, out);
    if (status == napi_ok) {
      records->data = NULL;
      records->len = records->cap = 0;
      return status;
    }
  }
  napi_status status = napi_create_buffer_copy(env, records->len, records->len ? (const void *)records->data : (const void *)"", NULL, out);
  sd_records_free(records);
  return status;
}

static napi_value records_or_throw(napi_env env, int rc, struct sd_records *records, const char *why) {
  if (rc < 0) {
    sd_records_free(records);
    return throw_errno(env, rc, why);
  }
  napi_value buffer = NULL;
  return records_buffer(env, records, &buffer) == napi_ok ? buffer : NULL;
}

static napi_value dump_listening(napi_env env, napi_callback_info info) {
  (void)info;
  struct sd_records records = {0};
  const char *why = NULL;
  int rc = sd_dump_listening(&records, &why);
  return records_or_throw(env, rc, &records, why);
}

/* (family 4|6, protocol 'tcp'|'udp') as AF_* and IPPROTO_*; false (and a TypeError) otherwise. */
static bool table_of(napi_env env, napi_callback_info info, uint8_t *family, uint8_t *protocol) {
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return false;
  uint32_t f = 0;
  char p[8] = "";
  size_t len = 0;
  if (argc < 2 || napi_get_value_uint32(env, argv[0], &f) != napi_ok || (f != 4 && f != 6)) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_VALUE", "dumpSockets(family, protocol): family must be 4 or 6");
    return false;
  }
  if (napi_get_value_string_utf8(env, argv[1], p, sizeof p, &len) != napi_ok || (strcmp(p, "tcp") != 0 && strcmp(p, "udp") != 0)) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_VALUE", "dumpSockets(family, protocol): protocol must be 'tcp' or 'udp'");
    return false;
  }
  *family = f == 4 ? AF_INET : AF_INET6;
  *protocol = p[0] == 't' ? IPPROTO_TCP : IPPROTO_UDP;
  return true;
}

static napi_value dump_sockets(napi_env env, napi_callback_info info) {
  uint8_t family, protocol;
  if (!table_of(env, info, &family, &protocol)) return NULL;
  struct sd_records records = {0};
  const char *why = NULL;
  int rc = sd_dump(family, protocol, SD_ALL_STATES, &records, &why);
  return records_or_throw(env, rc, &records, why);
}

/* One dump on the threadpool. The thread is in the process's network namespace: libuv's
 * threads inherit the namespace of the thread that starts them, and enterEach, the only
 * setns(2) here, is synchronous and back before any work can be queued. */
/*
 * Work for the threadpool, settled through a promise the caller gets. On failure `data` is
 * released, an exception naming `what` is thrown and NULL returned (a promise made before that
 * is never settled: the caller sees the exception).
 */
static napi_value queue_async(napi_env env, const char *resource, napi_async_execute_callback execute, napi_async_complete_callback complete,
                              void *data, napi_async_work *work, napi_deferred *deferred, void (*release)(void *), const char *what) {
  napi_value promise = NULL, name = NULL;
  if (napi_create_promise(env, deferred, &promise) != napi_ok || napi_create_string_utf8(env, resource, NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_async_work(env, NULL, name, execute, complete, data, work) != napi_ok) {
    release(data);
    return throw_errno(env, -ENOMEM, what);
  }
  if (napi_queue_async_work(env, *work) != napi_ok) {
    napi_delete_async_work(env, *work);
    release(data);
    return throw_errno(env, -EAGAIN, what);
  }
  return promise;
}

struct async_dump {
  napi_async_work work;
  napi_deferred deferred;
  uint8_t family, protocol;
  struct sd_records records;
  int rc;
  const char *why;
};

static void async_dump_execute(napi_env env, void *data) {
  (void)env;
  struct async_dump *d = data;
  d->rc = sd_dump(d->family, d->protocol, SD_ALL_STATES, &d->records, &d->why);
}

static void async_dump_complete(napi_env env, napi_status status, void *data) {
  struct async_dump *d = data;
  napi_value value = NULL;
  if (status == napi_ok && d->rc == 0) {
    if (records_buffer(env, &d->records, &value) == napi_ok) {
      napi_resolve_deferred(env, d->deferred, value);
    } else {
      value = NULL;
    }
  }
  if (!value) {
    char message[256];
    int error = d->rc < 0 ? d->rc : -ECANCELED;
    snprintf(message, sizeof message, "%s: %s", d->why ? d->why : "sock_diag", strerror(-error));
    const char *name = strerrorname_np(-error);
    napi_value code = NULL, text = NULL, err = NULL;
    if (napi_create_string_utf8(env, name ? name : "EIO", NAPI_AUTO_LENGTH, &code) == napi_ok &&
        napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &text) == napi_ok && napi_create_error(env, code, text, &err) == napi_ok) {
      napi_reject_deferred(env, d->deferred, err);
    }
  }
  sd_records_free(&d->records);
  napi_delete_async_work(env, d->work);
  free(d);
}

static napi_value dump_sockets_async(napi_env env, napi_callback_info info) {
  uint8_t family, protocol;
  if (!table_of(env, info, &family, &protocol)) return NULL;
  struct async_dump *d = calloc(1, sizeof *d);
  if (!d) return throw_errno(env, -ENOMEM, "dumpSocketsAsync");
  d->family = family;
  d->protocol = protocol;
  return queue_async(env, "dualstack:sock_diag", async_dump_execute, async_dump_complete, d, &d->work, &d->deferred, free, "dumpSocketsAsync");
}

/* The owners walk on the threadpool: the main thread goes on with the other sources. The
 * arguments are copied in, so nothing of JavaScript's is read off the main thread. */
struct async_fds {
  napi_async_work work;
  napi_deferred deferred;
  char *proc;
  int32_t *pids;
  size_t npids;
  uint64_t *wanted;
  size_t nwanted;
  uint32_t skip, limit;
  struct fs_out out;
  int rc;
};

static void async_fds_free(struct async_fds *d) {
  free(d->proc);
  free(d->pids);
  free(d->wanted);
  fs_out_free(&d->out);
  free(d);
}

static void release_fds(void *d) { async_fds_free(d); }

static void async_fds_execute(napi_env env, void *data) {
  (void)env;
  struct async_fds *d = data;
  d->rc = fs_scan(d->proc, d->pids, d->npids, d->skip, d->limit, d->wanted, d->nwanted, &d->out);
}

static void async_fds_complete(napi_env env, napi_status status, void *data) {
  struct async_fds *d = data;
  napi_value buffer = NULL, array = NULL;
  void *bytes = NULL;
  if (status == napi_ok && d->rc == 0 && napi_create_arraybuffer(env, d->out.len * sizeof(double), &bytes, &buffer) == napi_ok &&
      napi_create_typedarray(env, napi_float64_array, d->out.len, buffer, 0, &array) == napi_ok) {
    if (d->out.len) memcpy(bytes, d->out.data, d->out.len * sizeof(double));
    napi_resolve_deferred(env, d->deferred, array);
  } else {
    int error = d->rc < 0 ? d->rc : -ECANCELED;
    char message[256];
    snprintf(message, sizeof message, "fd walk: %s", strerror(-error));
    const char *name = strerrorname_np(-error);
    napi_value code = NULL, text = NULL, err = NULL;
    if (napi_create_string_utf8(env, name ? name : "EIO", NAPI_AUTO_LENGTH, &code) == napi_ok &&
        napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &text) == napi_ok && napi_create_error(env, code, text, &err) == napi_ok) {
      napi_reject_deferred(env, d->deferred, err);
    }
  }
  napi_delete_async_work(env, d->work);
  async_fds_free(d);
}

/* A typed array argument of the given type: its elements and length, or false (and a TypeError). */
static bool typed_of(napi_env env, napi_value value, napi_typedarray_type want, void **data, size_t *length, const char *message) {
  bool is = false;
  napi_typedarray_type type;
  if (napi_is_typedarray(env, value, &is) != napi_ok || !is || napi_get_typedarray_info(env, value, &type, length, data, NULL, NULL) != napi_ok || type != want) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", message);
    return false;
  }
  return true;
}

static napi_value fd_sockets_async(napi_env env, napi_callback_info info) {
  static const char usage[] = "fdSocketsAsync(proc, pids Int32Array, skip, limit, wanted Float64Array)";
  size_t argc = 5;
  napi_value argv[5];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  size_t plen = 0, npids = 0, nwanted = 0;
  uint32_t skip = 0, limit = 0;
  void *pids = NULL, *wanted = NULL;
  if (argc < 5 || napi_get_value_string_utf8(env, argv[0], NULL, 0, &plen) != napi_ok || plen == 0 ||
      napi_get_value_uint32(env, argv[2], &skip) != napi_ok || napi_get_value_uint32(env, argv[3], &limit) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_VALUE", usage);
    return NULL;
  }
  if (!typed_of(env, argv[1], napi_int32_array, &pids, &npids, usage) || !typed_of(env, argv[4], napi_float64_array, &wanted, &nwanted, usage)) return NULL;
  struct async_fds *d = calloc(1, sizeof *d);
  if (!d) return throw_errno(env, -ENOMEM, "fdSocketsAsync");
  d->proc = malloc(plen + 1);
  d->pids = malloc((npids ? npids : 1) * sizeof *d->pids);
  d->wanted = malloc((nwanted ? nwanted : 1) * sizeof *d->wanted);
  if (!d->proc || !d->pids || !d->wanted) {
    async_fds_free(d);
    return throw_errno(env, -ENOMEM, "fdSocketsAsync");
  }
  napi_get_value_string_utf8(env, argv[0], d->proc, plen + 1, &plen);
  if (npids) memcpy(d->pids, pids, npids * sizeof *d->pids);
  for (size_t i = 0; i < nwanted; i++) {
    double inode = ((const double *)wanted)[i];
    /* Sorted ascending, whole and non-negative: the binary search depends on it. */
    if (!(inode >= 0 && inode <= 9007199254740992.0 && inode == (double)(uint64_t)inode) || (i > 0 && inode < ((const double *)wanted)[i - 1])) {
      async_fds_free(d);
      napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "fdSocketsAsync: wanted must hold whole inodes, sorted ascending");
      return NULL;
    }
    d->wanted[i] = (uint64_t)inode;
  }
  d->npids = npids;
  d->nwanted = nwanted;
  d->skip = skip;
  d->limit = limit;
  return queue_async(env, "dualstack:fd_sockets", async_fds_execute, async_fds_complete, d, &d->work, &d->deferred, release_fds, "fdSocketsAsync");
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
  if (napi_create_function(env, "dumpSocketsAsync", NAPI_AUTO_LENGTH, dump_sockets_async, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "dumpSocketsAsync", fn) != napi_ok) return NULL;
  if (napi_create_function(env, "enterEach", NAPI_AUTO_LENGTH, enter_each, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "enterEach", fn) != napi_ok) return NULL;
  if (napi_create_function(env, "fdSocketsAsync", NAPI_AUTO_LENGTH, fd_sockets_async, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "fdSocketsAsync", fn) != napi_ok) return NULL;
  if (napi_create_uint32(env, SD_RECORD_SIZE, &size) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "recordSize", size) != napi_ok) return NULL;
  return exports;
}
