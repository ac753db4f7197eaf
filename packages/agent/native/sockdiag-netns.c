/* The system calls: a sock_diag dump in the calling thread's network namespace, the net.ipv6
 * sysctls as /proc/sys shows them to that thread, and entering other namespaces in turn. */
#define _GNU_SOURCE
#include "sockdiag.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/inet_diag.h>

/* TCP_LISTEN for TCP, TCP_CLOSE (unconnected) for UDP: what `ss -l` lists. Not both for
 * both, as `ss -l` asks: a TCP dump asking for any state besides LISTEN makes the kernel walk
 * every established socket too (inet_diag_dump_icsk), ~200 ms at 100k connections, for TCP
 * sockets in CLOSE, which the established hash does not keep. */
#define TCP_LISTENING (1u << 10)
#define UDP_UNCONNECTED (1u << 7)

static int dump_one(int fd, uint8_t family, uint8_t protocol, uint32_t states, struct sd_records *out, const char **why) {
  struct {
    struct nlmsghdr header;
    struct inet_diag_req_v2 req;
  } request;
  memset(&request, 0, sizeof request);
  request.header.nlmsg_len = sizeof request;
  request.header.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  request.header.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  request.header.nlmsg_seq = (uint32_t)family << 8 | protocol;
  request.req.sdiag_family = family;
  request.req.sdiag_protocol = protocol;
  request.req.idiag_states = states;
  /* INET_DIAG_SKV6ONLY has no request bit (idiag_ext covers attributes 1..8 only): the kernel
   * adds it to every AF_INET6 socket's message (inet_diag_msg_attrs_fill). */
  request.req.idiag_ext = 0;
  struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
  if (sendto(fd, &request, sizeof request, 0, (struct sockaddr *)&kernel, sizeof kernel) != (ssize_t)sizeof request) {
    *why = "sendto(NETLINK_SOCK_DIAG)";
    return -errno;
  }
  /* 32 KiB is what the kernel fills per message batch for a dump (NLMSG_GOODSIZE on 4 KiB
   * pages is smaller); MSG_TRUNC below would say if a batch did not fit. */
  static __thread uint8_t buf[64 * 1024];
  for (;;) {
    struct iovec iov = { buf, sizeof buf };
    struct sockaddr_nl from;
    struct msghdr msg = { .msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &iov, .msg_iovlen = 1 };
    ssize_t n = recvmsg(fd, &msg, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      *why = "recvmsg(NETLINK_SOCK_DIAG)";
      return -errno;
    }
    if (msg.msg_flags & MSG_TRUNC) { *why = "a sock_diag message larger than the receive buffer"; return -EMSGSIZE; }
    if (from.nl_pid != 0) continue; /* not from the kernel */
    int rc = sd_walk(buf, (size_t)n, protocol, out, why);
    if (rc == SD_DONE) return 0;
    if (rc < 0) return rc;
    if (n == 0) { *why = "the sock_diag dump ended without NLMSG_DONE"; return -EBADMSG; }
  }
}

int sd_dump_listening(struct sd_records *out, const char **why) {
  int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
  if (fd < 0) { *why = "socket(NETLINK_SOCK_DIAG)"; return -errno; }
  static const uint8_t families[] = { AF_INET, AF_INET6 };
  static const uint8_t protocols[] = { IPPROTO_TCP, IPPROTO_UDP };
  int rc = 0;
  for (size_t p = 0; p < 2 && rc == 0; p++)
    for (size_t f = 0; f < 2 && rc == 0; f++) {
      rc = dump_one(fd, families[f], protocols[p], protocols[p] == IPPROTO_TCP ? TCP_LISTENING : UDP_UNCONNECTED, out, why);
      /* A kernel without IPv6 (or without udp_diag) has no handler: no such sockets, not a failure. */
      if (rc == -ENOENT || rc == -EAFNOSUPPORT) rc = 0;
    }
  close(fd);
  return rc;
}

int sd_dump(uint8_t family, uint8_t protocol, uint32_t states, struct sd_records *out, const char **why) {
  int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
  if (fd < 0) { *why = "socket(NETLINK_SOCK_DIAG)"; return -errno; }
  int rc = dump_one(fd, family, protocol, states, out, why);
  close(fd);
  return rc;
}

static int text_add(struct sd_text *t, const char *s, size_t n) {
  if (t->len + n + 1 > t->cap) {
    size_t cap = t->cap ? t->cap : 1024;
    while (t->len + n + 1 > cap) cap *= 2;
    char *grown = realloc(t->data, cap);
    if (!grown) return -ENOMEM;
    t->data = grown;
    t->cap = cap;
  }
  memcpy(t->data + t->len, s, n);
  t->data[t->len + n] = '\0';
  t->len += n + 1;
  return 0;
}

/* One sysctl file: its name and value (one line; the trailing newline dropped). */
static int read_sysctl(const char *path, struct sd_text *out, const char **why) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno == ENOENT ? 0 : (*why = "open(/proc/sys/net/ipv6/...)", -errno);
  char value[256];
  ssize_t n = read(fd, value, sizeof value - 1);
  int saved = errno;
  close(fd);
  if (n < 0) { *why = "read(/proc/sys/net/ipv6/...)"; return -saved; }
  while (n > 0 && value[n - 1] == '\n') n--;
  int rc = text_add(out, path, strlen(path));
  return rc < 0 ? rc : text_add(out, value, (size_t)n);
}

int sd_read_ipv6_sysctls(const char *const *keys, size_t nkeys, struct sd_text *out, const char **why) {
  int rc = read_sysctl("/proc/sys/net/ipv6/bindv6only", out, why);
  if (rc < 0) return rc;
  /* Listed while inside: the namespace's own interfaces. */
  DIR *conf = opendir("/proc/sys/net/ipv6/conf");
  if (!conf) return errno == ENOENT ? 0 : (*why = "opendir(/proc/sys/net/ipv6/conf)", -errno);
  struct dirent *entry;
  char path[512];
  while (rc == 0 && (entry = readdir(conf)) != NULL) {
    if (entry->d_name[0] == '.') continue;
    for (size_t k = 0; k < nkeys && rc == 0; k++) {
      int n = snprintf(path, sizeof path, "/proc/sys/net/ipv6/conf/%s/%s", entry->d_name, keys[k]);
      if (n < 0 || (size_t)n >= sizeof path) continue; /* longer than any interface name allows */
      rc = read_sysctl(path, out, why);
    }
  }
  closedir(conf);
  return rc;
}

int sd_enter_each(const char *const *paths, size_t npaths, const char *const *keys, size_t nkeys, struct sd_namespace_result *results, const char **why) {
  int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (self < 0) { *why = "open(/proc/thread-self/ns/net)"; return -errno; }
  for (size_t i = 0; i < npaths; i++) {
    struct sd_namespace_result *r = &results[i];
    memset(r, 0, sizeof *r);
    int fd = open(paths[i], O_RDONLY | O_CLOEXEC);
    if (fd < 0) { r->error = -errno; r->why = "open"; continue; }
    /* Which namespace this is, so the caller can tell a pid reused since discovery. */
    struct stat st;
    if (fstat(fd, &st) == 0) r->inode = (uint64_t)st.st_ino;
    int entered = setns(fd, CLONE_NEWNET);
    int saved = errno;
    close(fd);
    if (entered != 0) { r->error = -saved; r->why = "setns"; continue; }
    r->error = sd_dump_listening(&r->records, &r->why);
    if (r->error == 0) r->error = sd_read_ipv6_sysctls(keys, nkeys, &r->sysctls, &r->why);
    /* Coming back cannot fail short of a kernel bug, but if it did, this thread (the agent's
     * main thread) would stay in the container's namespace: every later socket, sysctl read
     * and dump would describe the container as if it were the host, and the report would be
     * wrong without saying so. Nothing can be trusted after that: abort. */
    if (setns(self, CLONE_NEWNET) != 0) {
      fprintf(stderr, "dualstack sockdiag: could not return to the agent's network namespace after %s (%s); aborting\n", paths[i], strerror(errno));
      abort();
    }
  }
  close(self);
  return 0;
}

void sd_text_free(struct sd_text *t) {
  free(t->data);
  t->data = NULL;
  t->len = t->cap = 0;
}
