/* LD_PRELOAD shim for test/native/socket-tables.test.ts: socket(AF_NETLINK, ...,
 * NETLINK_SOCK_DIAG) fails with EPROTONOSUPPORT, as under qemu-user (which does not emulate
 * that netlink family); every other socket is the C library's. So the agent's fallback from a
 * module that loads but cannot dump is exercised on x64. Only in the agent's own process: its
 * children (ss, the fallback) run on the real kernel, as they would beside qemu. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <linux/netlink.h>

__attribute__((constructor)) static void not_in_children(void) { unsetenv("LD_PRELOAD"); }

int socket(int domain, int type, int protocol) {
  static int (*real)(int, int, int);
  if (domain == AF_NETLINK && protocol == NETLINK_SOCK_DIAG) {
    errno = EPROTONOSUPPORT;
    return -1;
  }
  if (!real) real = (int (*)(int, int, int))dlsym(RTLD_NEXT, "socket");
  return real(domain, type, protocol);
}
