/* The owners source's fd walk in C (issue 14): which of the wanted socket inodes each process
 * holds, from /proc/PID/fd/N -> "socket:[INODE]" links, exactly as the TypeScript walk in
 * packages/agent/src/proc/owners.ts reads them (it stays the fallback). No N-API here. */
#ifndef DUALSTACK_FD_SOCKETS_H
#define DUALSTACK_FD_SOCKETS_H

#include <stddef.h>
#include <stdint.h>

/* How one process's pass ended (owners.ts: FdPass['outcome']). */
#define FS_DONE 0          /* every descriptor of the pass read, or the process is gone */
#define FS_MORE 1          /* stopped at `limit`: it has more descriptors */
#define FS_UNREADABLE 2    /* the fd directory refused (EACCES/EPERM) */
#define FS_LINK_DENIED 3   /* a link refused (EACCES/EPERM): none of its links can be read */

/* Flat output, one group per pid in the order given: outcome, count, then `count` inodes in
 * descriptor order (doubles: the TypeScript side reads a Float64Array). */
struct fs_out {
  double *data;
  size_t len;
  size_t cap;
};

/* For each pid, reads the entries of PROC/PID/fd after the first `skip` and up to the
 * `limit`th (UINT32_MAX: no limit), keeping the links "socket:[N]" whose N is in `wanted`
 * (sorted ascending). Returns 0, or a negative errno (-ENOMEM, -ENAMETOOLONG for `proc`). */
int fs_scan(const char *proc, const int32_t *pids, size_t npids, uint32_t skip, uint32_t limit, const uint64_t *wanted, size_t nwanted, struct fs_out *out);

void fs_out_free(struct fs_out *out);

#endif
