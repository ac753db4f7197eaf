/* The owners source's fd walk (fd-sockets.h): the same readdir + readlink per descriptor as
 * owners.ts, without a JavaScript string, regex and exception per link. Its second pass reads
 * every descriptor of the busy processes of a namespace where a listening socket has no visible
 * holder (the kernel's own, as VXLAN's or WireGuard's, or one held from another PID namespace):
 * 100k links at 100k connections, where the kernel's own cost per link dominates. */
#define _GNU_SOURCE
#include "fd-sockets.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void fs_out_free(struct fs_out *out) {
  free(out->data);
  out->data = NULL;
  out->len = out->cap = 0;
}

static int push(struct fs_out *out, double value) {
  if (out->len == out->cap) {
    size_t cap = out->cap ? out->cap * 2 : 1024;
    double *grown = realloc(out->data, cap * sizeof *grown);
    if (!grown) return -ENOMEM;
    out->data = grown;
    out->cap = cap;
  }
  out->data[out->len++] = value;
  return 0;
}

static int wanted_has(const uint64_t *wanted, size_t n, uint64_t inode) {
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (wanted[mid] == inode) return 1;
    if (wanted[mid] < inode) lo = mid + 1;
    else hi = mid;
  }
  return 0;
}

/* "socket:[DIGITS]" exactly (owners.ts: /^socket:\[(\d+)\]$/); 0 and the inode, or -1. */
static int socket_inode(const char *link, size_t len, uint64_t *inode) {
  static const char prefix[] = "socket:[";
  const size_t plen = sizeof prefix - 1;
  if (len < plen + 2 || memcmp(link, prefix, plen) != 0 || link[len - 1] != ']') return -1;
  uint64_t value = 0;
  for (size_t i = plen; i < len - 1; i++) {
    unsigned digit = (unsigned)(link[i] - '0');
    if (digit > 9) return -1;
    if (value > (UINT64_MAX - digit) / 10) return -1; /* beyond any inode: not one we want */
    value = value * 10 + digit;
  }
  *inode = value;
  return 0;
}

static int denied(int error) {
  return error == EACCES || error == EPERM;
}

/* One process's pass: appends outcome, count, inodes to `out`. */
static int scan_one(const char *proc, int32_t pid, uint32_t skip, uint32_t limit, const uint64_t *wanted, size_t nwanted, struct fs_out *out) {
  char path[PATH_MAX];
  int n = snprintf(path, sizeof path, "%s/%d/fd", proc, (int)pid);
  if (n < 0 || (size_t)n >= sizeof path) return -ENAMETOOLONG;
  size_t head = out->len;
  int rc;
  if ((rc = push(out, FS_DONE)) < 0 || (rc = push(out, 0)) < 0) return rc;
  int dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) {
    if (denied(errno)) out->data[head] = FS_UNREADABLE;
    return 0; /* else it exited meanwhile */
  }
  DIR *dir = fdopendir(dfd);
  if (!dir) {
    int error = errno;
    close(dfd);
    return error == ENOMEM ? -ENOMEM : 0;
  }
  uint32_t seen = 0;
  double count = 0;
  struct dirent *entry;
  while ((entry = readdir(dir)) != NULL) {
    const char *name = entry->d_name;
    if (name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'))) continue;
    if (seen++ < skip) continue;
    if (seen > limit) {
      out->data[head] = FS_MORE;
      break;
    }
    char link[64]; /* "socket:[" + 20 digits + "]" fits; anything longer is not a socket */
    ssize_t len = readlinkat(dfd, name, link, sizeof link);
    if (len < 0) {
      if (denied(errno)) {
        out->data[head] = FS_LINK_DENIED;
        break;
      }
      continue; /* closed meanwhile */
    }
    uint64_t inode;
    if ((size_t)len >= sizeof link || socket_inode(link, (size_t)len, &inode) != 0 || !wanted_has(wanted, nwanted, inode)) continue;
    if ((rc = push(out, (double)inode)) < 0) {
      closedir(dir);
      return rc;
    }
    count++;
  }
  out->data[head + 1] = count;
  closedir(dir);
  return 0;
}

int fs_scan(const char *proc, const int32_t *pids, size_t npids, uint32_t skip, uint32_t limit, const uint64_t *wanted, size_t nwanted, struct fs_out *out) {
  for (size_t i = 0; i < npids; i++) {
    int rc = scan_one(proc, pids[i], skip, limit, wanted, nwanted, out);
    if (rc < 0) return rc;
  }
  return 0;
}
