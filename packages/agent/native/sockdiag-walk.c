/* The attribute walk over a received sock_diag buffer, a pure function so the sanitizer test
 * driver can feed it crafted buffers. Nothing is read before its length is checked; headers
 * are copied out with memcpy, since a crafted buffer need not be aligned. */
#include "sockdiag.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/inet_diag.h>

static int push(struct sd_records *out, const uint8_t record[SD_RECORD_SIZE]) {
  if (out->len + SD_RECORD_SIZE > out->cap) {
    size_t cap = out->cap ? out->cap * 2 : 64 * SD_RECORD_SIZE;
    uint8_t *grown = realloc(out->data, cap);
    if (!grown) return -ENOMEM;
    out->data = grown;
    out->cap = cap;
  }
  memcpy(out->data + out->len, record, SD_RECORD_SIZE);
  out->len += SD_RECORD_SIZE;
  return 0;
}

static void put_u16le(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void put_u32le(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}

/* One SOCK_DIAG_BY_FAMILY message's payload: the fixed inet_diag_msg, then attributes. */
static int walk_socket(const uint8_t *payload, size_t len, uint8_t protocol, struct sd_records *out, const char **why) {
  struct inet_diag_msg msg;
  if (len < sizeof msg) { *why = "inet_diag_msg shorter than its fixed part"; return -EBADMSG; }
  memcpy(&msg, payload, sizeof msg);
  if (msg.idiag_family != AF_INET && msg.idiag_family != AF_INET6) return 0; /* not ours to read */

  uint8_t v6only = SD_V6ONLY_UNKNOWN;
  size_t offset = NLMSG_ALIGN(sizeof msg);
  while (offset < len) {
    struct rtattr rta;
    size_t left = len - offset;
    if (left < sizeof rta) { *why = "attribute header truncated"; return -EBADMSG; }
    memcpy(&rta, payload + offset, sizeof rta);
    /* rta_len counts its own header: smaller is malformed (and 0 would loop forever). */
    if (rta.rta_len < sizeof rta) { *why = "attribute length shorter than its header"; return -EBADMSG; }
    if (rta.rta_len > left) { *why = "attribute length past the end of its message"; return -EBADMSG; }
    if (rta.rta_type == INET_DIAG_SKV6ONLY && msg.idiag_family == AF_INET6) {
      if (rta.rta_len < RTA_LENGTH(1)) { *why = "INET_DIAG_SKV6ONLY without its byte"; return -EBADMSG; }
      v6only = payload[offset + RTA_LENGTH(0)] ? 1 : 0;
    }
    /* Unknown attributes are skipped by their length. The last one may lack its padding. */
    size_t step = RTA_ALIGN(rta.rta_len);
    if (step > left) step = left;
    offset += step;
  }

  uint8_t record[SD_RECORD_SIZE] = {0};
  record[0] = msg.idiag_family;
  record[1] = protocol;
  record[2] = msg.idiag_state;
  record[3] = v6only;
  put_u16le(record + 4, ntohs(msg.id.idiag_sport));
  put_u16le(record + 6, ntohs(msg.id.idiag_dport));
  put_u32le(record + 8, msg.idiag_inode);
  put_u32le(record + 12, msg.idiag_uid);
  memcpy(record + 16, msg.id.idiag_src, 16);
  memcpy(record + 32, msg.id.idiag_dst, 16);
  put_u32le(record + 48, msg.idiag_rqueue);
  put_u32le(record + 52, msg.idiag_wqueue);
  return push(out, record);
}

int sd_walk(const uint8_t *buf, size_t len, uint8_t protocol, struct sd_records *out, const char **why) {
  size_t offset = 0;
  while (offset < len) {
    struct nlmsghdr header;
    size_t left = len - offset;
    if (left < sizeof header) { *why = "netlink header truncated"; return -EBADMSG; }
    memcpy(&header, buf + offset, sizeof header);
    if (header.nlmsg_len < sizeof header) { *why = "nlmsg_len shorter than its header"; return -EBADMSG; }
    if (header.nlmsg_len > left) { *why = "nlmsg_len past the end of the buffer"; return -EBADMSG; }
    const uint8_t *payload = buf + offset + NLMSG_HDRLEN;
    size_t payload_len = header.nlmsg_len - NLMSG_HDRLEN;
    switch (header.nlmsg_type) {
    case NLMSG_DONE: {
      /* A dump's DONE carries its return value; negative when the dump failed midway. */
      int status = 0;
      if (payload_len >= sizeof status) memcpy(&status, payload, sizeof status);
      if (status < 0) { *why = "the kernel ended the dump with an error"; return status; }
      return SD_DONE;
    }
    case NLMSG_ERROR: {
      int error;
      if (payload_len < sizeof error) { *why = "NLMSG_ERROR without its error code"; return -EBADMSG; }
      memcpy(&error, payload, sizeof error);
      if (error < 0) { *why = "the kernel refused the dump"; return error; }
      break; /* an ACK */
    }
    case SOCK_DIAG_BY_FAMILY: {
      int rc = walk_socket(payload, payload_len, protocol, out, why);
      if (rc < 0) return rc;
      break;
    }
    default:
      break; /* NLMSG_NOOP and anything newer: skipped by its length */
    }
    size_t step = NLMSG_ALIGN(header.nlmsg_len);
    if (step > left) step = left;
    offset += step;
  }
  return SD_MORE;
}

void sd_records_free(struct sd_records *r) {
  free(r->data);
  r->data = NULL;
  r->len = r->cap = 0;
}
