/* The native sock_diag reader (issue 14): what the N-API glue (sockdiag.c), the sanitizer test
 * driver (test/native/walk-driver.c) and the netlink/namespace code share. No N-API here. */
#ifndef DUALSTACK_SOCKDIAG_H
#define DUALSTACK_SOCKDIAG_H

#include <stddef.h>
#include <stdint.h>

/* One socket, fixed size, little-endian (packages/agent/src/sockdiag-native/records.ts reads it):
 *   0 family u8 (AF_INET 2, AF_INET6 10)   1 protocol u8 (6 tcp, 17 udp)   2 state u8 (TCP_* numbers)
 *   3 v6only u8 (0, 1, 2 = unknown: AF_INET, or no INET_DIAG_SKV6ONLY attribute)
 *   4 local port u16   6 remote port u16   8 inode u32   12 uid u32
 *  16 local address, 32 remote address: 16 bytes each as the kernel gives them (network
 *     order; AF_INET in the first 4)
 *  48 receive queue u32   52 send queue u32 (idiag_rqueue, idiag_wqueue)   56 reserved (0) */
#define SD_RECORD_SIZE 64
#define SD_V6ONLY_UNKNOWN 2

struct sd_records {
  uint8_t *data;
  size_t len; /* bytes used, a multiple of SD_RECORD_SIZE */
  size_t cap;
};

/* Growable text (sysctl name/value pairs, NUL-separated: name\0value\0name\0value\0...). */
struct sd_text {
  char *data;
  size_t len;
  size_t cap;
};

#define SD_MORE 0
#define SD_DONE 1

/* Walks one received buffer of a sock_diag dump: every netlink message header and every
 * attribute length is checked against what remains before it is read. Pure apart from
 * appending to `out`. Returns SD_MORE (more messages to receive), SD_DONE (NLMSG_DONE seen), or
 * a negative errno: the kernel's (NLMSG_ERROR, a failed NLMSG_DONE), -EBADMSG for a malformed
 * buffer, -ENOMEM; `*why` then names what failed. */
int sd_walk(const uint8_t *buf, size_t len, uint8_t protocol, struct sd_records *out, const char **why);

/* TCP LISTEN + UDP unconnected (what `ss -l` lists), AF_INET and AF_INET6, in the calling
 * thread's network namespace. 0 or a negative errno, `*why` naming the step. */
int sd_dump_listening(struct sd_records *out, const char **why);

/* Every socket of one (family, protocol) in every state: what /proc/net/{tcp,tcp6,udp,udp6}
 * lists, one dump. 0 or a negative errno (-ENOENT: no such handler, e.g. IPv6 off). */
#define SD_ALL_STATES 0xffffffffu
int sd_dump(uint8_t family, uint8_t protocol, uint32_t states, struct sd_records *out, const char **why);

/* net.ipv6.bindv6only and conf/<every entry>/<key> for `keys`, read from /proc/sys as the
 * calling thread's namespace shows them; a missing file is left out (as grep -r leaves it). */
int sd_read_ipv6_sysctls(const char *const *keys, size_t nkeys, struct sd_text *out, const char **why);

struct sd_namespace_result {
  struct sd_records records;
  struct sd_text sysctls;
  uint64_t inode; /* the namespace the path opened (its nsfs inode), 0 when it did not open */
  int error; /* 0, or the negative errno of the step named by `why` */
  const char *why;
};

/* For each path (/proc/PID/ns/net): enter it on the calling thread, dump and read the sysctls
 * there, come back. Returns 0, or a negative errno when the thread's own namespace could not be
 * opened (nothing entered). Aborts the process when coming back fails (see the .c file). */
int sd_enter_each(const char *const *paths, size_t npaths, const char *const *keys, size_t nkeys, struct sd_namespace_result *results, const char **why);

void sd_records_free(struct sd_records *r);
void sd_text_free(struct sd_text *t);

#endif
