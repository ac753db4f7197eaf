/* Sanitizer test driver for the native sock_diag reader (test/native/sanitizers.test.ts builds
 * it with -fsanitize=address,undefined): crafted netlink buffers (truncated, oversized and zero
 * lengths, unknown attributes) fed to sd_walk with the result each must give, then live dumps
 * (the agent's namespace, and entering the paths given as arguments) through the same code the
 * module runs. Prints "ok N" and exits 0, or names the failing case and exits 1. */
#define _GNU_SOURCE /* setns */
#include "../../packages/agent/native/sockdiag.h"
#include "../../packages/agent/native/fd-sockets.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <unistd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/inet_diag.h>

static int failures, cases;

struct builder { uint8_t data[4096]; size_t len; };

static size_t add(struct builder *b, const void *p, size_t n) {
  size_t at = b->len;
  memcpy(b->data + b->len, p, n);
  b->len += n;
  return at;
}

/* A SOCK_DIAG_BY_FAMILY message: header, inet_diag_msg, then `attrs` (raw bytes as given). */
static void socket_msg(struct builder *b, uint8_t family, uint32_t inode, const void *attrs, size_t attrs_len) {
  struct nlmsghdr h = { .nlmsg_len = (uint32_t)(NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(struct inet_diag_msg)) + attrs_len), .nlmsg_type = SOCK_DIAG_BY_FAMILY };
  struct inet_diag_msg m;
  memset(&m, 0, sizeof m);
  m.idiag_family = family;
  m.idiag_state = 10;
  m.id.idiag_sport = htons(8443);
  m.id.idiag_dport = htons(50000);
  m.id.idiag_dst[0] = htonl(0x20010db8); /* 2001:db8::1 */
  m.id.idiag_dst[3] = htonl(1);
  m.idiag_rqueue = 7;
  m.idiag_wqueue = 9;
  m.idiag_inode = inode;
  m.idiag_uid = 1000;
  add(b, &h, sizeof h);
  add(b, &m, sizeof m);
  if (attrs_len) add(b, attrs, attrs_len);
}

static void done_msg(struct builder *b) {
  struct nlmsghdr h = { .nlmsg_len = NLMSG_LENGTH(sizeof(int)), .nlmsg_type = NLMSG_DONE };
  int zero = 0;
  add(b, &h, sizeof h);
  add(b, &zero, sizeof zero);
}

static void expect(const char *name, const struct builder *b, size_t len, int want_rc, size_t want_records, int want_v6only) {
  struct sd_records out = {0};
  const char *why = NULL;
  /* A copy of exactly `len` bytes on the heap, so AddressSanitizer sees any read past it. */
  uint8_t *copy = malloc(len ? len : 1);
  memcpy(copy, b->data, len);
  int rc = sd_walk(copy, len, 6, &out, &why);
  cases++;
  int ok = rc == want_rc && out.len == want_records * SD_RECORD_SIZE;
  if (ok && want_v6only >= 0 && want_records > 0) ok = out.data[3] == want_v6only;
  /* Every field of the first record where the socket_msg above put it (sockdiag.h's layout). */
  static const uint8_t dst[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
  if (ok && want_records > 0) {
    const uint8_t *r = out.data;
    ok = r[1] == 6 && r[2] == 10 && r[4] == (8443 & 0xff) && r[5] == 8443 >> 8 && r[6] == (50000 & 0xff) && r[7] == 50000 >> 8 &&
         r[12] == (1000 & 0xff) && r[13] == 1000 >> 8 && memcmp(r + 32, dst, 16) == 0 && r[48] == 7 && r[52] == 9 && r[56] == 0 && r[63] == 0;
  }
  if (!ok) {
    failures++;
    printf("FAIL %s: rc %d (want %d), %zu records (want %zu), why %s\n", name, rc, want_rc, out.len / SD_RECORD_SIZE, want_records, why ? why : "-");
  }
  free(copy);
  sd_records_free(&out);
}

static int compare_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
  uint8_t v6only_attr[8] = {0};
  struct rtattr a = { .rta_len = RTA_LENGTH(1), .rta_type = INET_DIAG_SKV6ONLY };
  memcpy(v6only_attr, &a, sizeof a);
  v6only_attr[4] = 1;

  struct builder b = {0};
  socket_msg(&b, AF_INET6, 42, v6only_attr, sizeof v6only_attr);
  done_msg(&b);
  expect("one AF_INET6 socket with V6ONLY=1, then DONE", &b, b.len, SD_DONE, 1, 1);
  expect("the same without DONE: more to receive", &b, b.len - NLMSG_LENGTH(sizeof(int)), SD_MORE, 1, 1);
  for (size_t cut = 1; cut < b.len - NLMSG_LENGTH(sizeof(int)); cut++) {
    char name[64];
    snprintf(name, sizeof name, "truncated to %zu bytes", cut);
    expect(name, &b, cut, -EBADMSG, 0, -1);
  }

  struct builder unknown = {0};
  uint8_t attrs[20] = {0};
  struct rtattr u = { .rta_len = RTA_LENGTH(5), .rta_type = 250 }; /* unknown, 5 payload bytes, padded to 12 */
  memcpy(attrs, &u, sizeof u);
  memcpy(attrs + 12, v6only_attr, sizeof v6only_attr);
  socket_msg(&unknown, AF_INET6, 43, attrs, sizeof attrs);
  expect("an unknown attribute skipped by its length", &unknown, unknown.len, SD_MORE, 1, 1);

  struct builder short_attr_header = {0};
  socket_msg(&short_attr_header, AF_INET6, 50, v6only_attr, 2); /* nlmsg_len ends 2 bytes into an attribute header */
  expect("attribute header cut short by nlmsg_len", &short_attr_header, short_attr_header.len, -EBADMSG, 0, -1);

  struct builder noattr = {0};
  socket_msg(&noattr, AF_INET6, 44, NULL, 0);
  socket_msg(&noattr, AF_INET, 45, NULL, 0);
  expect("no V6ONLY attribute: unknown", &noattr, noattr.len, SD_MORE, 2, SD_V6ONLY_UNKNOWN);

  struct builder zero_rta = {0};
  uint8_t zero_attr[8] = {0};
  socket_msg(&zero_rta, AF_INET6, 46, zero_attr, sizeof zero_attr);
  expect("rta_len 0 (would loop forever)", &zero_rta, zero_rta.len, -EBADMSG, 0, -1);

  struct builder big_rta = {0};
  uint8_t big_attr[8] = {0};
  struct rtattr big = { .rta_len = 4000, .rta_type = INET_DIAG_SKV6ONLY };
  memcpy(big_attr, &big, sizeof big);
  socket_msg(&big_rta, AF_INET6, 47, big_attr, sizeof big_attr);
  expect("rta_len past its message", &big_rta, big_rta.len, -EBADMSG, 0, -1);

  struct builder empty_v6only = {0};
  uint8_t short_attr[4] = {0};
  struct rtattr s = { .rta_len = RTA_LENGTH(0), .rta_type = INET_DIAG_SKV6ONLY };
  memcpy(short_attr, &s, sizeof s);
  socket_msg(&empty_v6only, AF_INET6, 48, short_attr, sizeof short_attr);
  expect("INET_DIAG_SKV6ONLY without its byte", &empty_v6only, empty_v6only.len, -EBADMSG, 0, -1);

  struct builder zero_nl = {0};
  struct nlmsghdr z = { .nlmsg_len = 0, .nlmsg_type = SOCK_DIAG_BY_FAMILY };
  add(&zero_nl, &z, sizeof z);
  expect("nlmsg_len 0 (would loop forever)", &zero_nl, zero_nl.len, -EBADMSG, 0, -1);

  struct builder big_nl = {0};
  socket_msg(&big_nl, AF_INET6, 49, v6only_attr, sizeof v6only_attr);
  ((struct nlmsghdr *)big_nl.data)->nlmsg_len = 1u << 30;
  expect("nlmsg_len past the buffer", &big_nl, big_nl.len, -EBADMSG, 0, -1);

  struct builder short_msg = {0};
  struct nlmsghdr sm = { .nlmsg_len = NLMSG_LENGTH(8), .nlmsg_type = SOCK_DIAG_BY_FAMILY };
  uint8_t eight[8] = { AF_INET6 };
  add(&short_msg, &sm, sizeof sm);
  add(&short_msg, eight, sizeof eight);
  expect("inet_diag_msg shorter than its fixed part", &short_msg, short_msg.len, -EBADMSG, 0, -1);

  struct builder error = {0};
  struct nlmsghdr eh = { .nlmsg_len = NLMSG_LENGTH(sizeof(struct nlmsgerr)), .nlmsg_type = NLMSG_ERROR };
  struct nlmsgerr e;
  memset(&e, 0, sizeof e);
  e.error = -EPERM;
  add(&error, &eh, sizeof eh);
  add(&error, &e, sizeof e);
  expect("NLMSG_ERROR EPERM", &error, error.len, -EPERM, 0, -1);
  expect("NLMSG_ERROR cut before its code", &error, NLMSG_HDRLEN + 2, -EBADMSG, 0, -1);

  struct builder unknown_type = {0};
  struct nlmsghdr nt = { .nlmsg_len = NLMSG_LENGTH(3), .nlmsg_type = 0x7777 };
  add(&unknown_type, &nt, sizeof nt);
  add(&unknown_type, "abc", 3); /* unaligned length, last in the buffer */
  expect("an unknown message type skipped, unpadded at the end", &unknown_type, unknown_type.len, SD_MORE, 0, -1);

  /* Live: the same code the module runs, here and in each namespace given. */
  struct sd_records live = {0};
  const char *why = NULL;
  int rc = sd_dump_listening(&live, &why);
  cases++;
  if (rc != 0) { failures++; printf("FAIL live dump: %s: %s\n", why, strerror(-rc)); }
  sd_records_free(&live);
  /* Every table, as the socket sources dump them (dumpSockets), in this namespace and, for
   * "--tables PATH", in that one (entered by this process, which has no other threads). */
  if (argc > 2 && strcmp(argv[1], "--tables") == 0) {
    int ns = open(argv[2], O_RDONLY | O_CLOEXEC);
    if (ns < 0 || setns(ns, CLONE_NEWNET) != 0) { printf("FAIL enter %s: %s\n", argv[2], strerror(errno)); return 1; }
    close(ns);
    argv += 2;
    argc -= 2;
  }
  static uint64_t listening[8192];
  size_t nlistening = 0;
  static const uint8_t table_families[] = { AF_INET, AF_INET6 };
  static const uint8_t table_protocols[] = { IPPROTO_TCP, IPPROTO_UDP };
  for (size_t p = 0; p < 2; p++)
    for (size_t f = 0; f < 2; f++) {
      struct sd_records table = {0};
      rc = sd_dump(table_families[f], table_protocols[p], SD_ALL_STATES, &table, &why);
      cases++;
      if (rc != 0) { failures++; printf("FAIL dump %u/%u: %s: %s\n", table_families[f], table_protocols[p], why, strerror(-rc)); }
      size_t established = 0;
      for (size_t at = 0; at < table.len; at += SD_RECORD_SIZE) {
        established += table.data[at + 2] == 1;
        if (table.data[at + 2] == 10 && nlistening < sizeof listening / sizeof *listening) {
          uint32_t inode;
          memcpy(&inode, table.data + at + 8, sizeof inode);
          listening[nlistening++] = inode;
        }
      }
      printf("table %s%s: %zu records, %zu established\n", table_protocols[p] == IPPROTO_TCP ? "tcp" : "udp", table_families[f] == AF_INET6 ? "6" : "", table.len / SD_RECORD_SIZE, established);
      sd_records_free(&table);
    }
  /* The owners walk (fd-sockets.c) over every process, for the listening TCP sockets of the
   * tables above: the first 256 descriptors, then the rest, as the agent reads them. */
  qsort(listening, nlistening, sizeof *listening, compare_u64);
  int32_t pids[4096];
  size_t npids = 0;
  DIR *proc = opendir("/proc");
  for (struct dirent *e; proc && (e = readdir(proc)) != NULL && npids < sizeof pids / sizeof *pids;)
    if (e->d_name[0] >= '1' && e->d_name[0] <= '9') pids[npids++] = atoi(e->d_name);
  if (proc) closedir(proc);
  size_t holdings = 0, more = 0;
  for (int pass = 0; pass < 2; pass++) {
    struct fs_out out = {0};
    rc = fs_scan("/proc", pids, npids, pass ? 256 : 0, pass ? UINT32_MAX : 256, listening, nlistening, &out);
    cases++;
    if (rc != 0) { failures++; printf("FAIL fd walk: %s\n", strerror(-rc)); }
    for (size_t at = 0; rc == 0 && at + 1 < out.len; at += 2 + (size_t)out.data[at + 1]) {
      holdings += (size_t)out.data[at + 1];
      more += !pass && out.data[at] == FS_MORE;
    }
    fs_out_free(&out);
  }
  printf("fd walk: %zu processes (%zu with more than 256 descriptors), %zu holdings of %zu listening sockets\n", npids, more, holdings, nlistening);
  if (argc > 1) {
    static const char *const keys[] = { "accept_ra", "disable_ipv6" };
    struct sd_namespace_result *results = calloc((size_t)argc - 1, sizeof *results);
    rc = sd_enter_each((const char *const *)argv + 1, (size_t)argc - 1, keys, 2, results, &why);
    cases++;
    if (rc != 0) { failures++; printf("FAIL enter: %s: %s\n", why, strerror(-rc)); }
    for (int i = 0; i + 1 < argc; i++) {
      printf("entered %s: %zu records, %zu sysctl bytes, error %d (%s)\n", argv[i + 1], results[i].records.len / SD_RECORD_SIZE, results[i].sysctls.len, results[i].error, results[i].why ? results[i].why : "-");
      sd_records_free(&results[i].records);
      sd_text_free(&results[i].sysctls);
    }
    free(results);
  }
  if (failures) { printf("%d of %d cases failed\n", failures, cases); return 1; }
  printf("ok %d\n", cases);
  return 0;
}
