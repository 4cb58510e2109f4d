/*
 * Minimal WebSocket echo server in C, the ceiling of bench/run.ts's echo benchmark: one thread,
 * epoll, RFC 6455 server handshake, every frame echoed as it arrives (same opcode and FIN,
 * payload unmasked, a frame's bytes forwarded as they come without waiting for the whole
 * message), pings answered, a close echoed. No UTF-8 check and no limits: it exists to show what
 * the load generator can drive, not to be a correct server. A connection costs a small struct
 * while idle; buffers exist only while output is pending.
 *
 * Prints "PORT <n>" once listening (--port 0 picks a free port). SIGUSR2 is ignored, so
 * bench/run.ts can signal every server alike.
 *
 * Build: gcc -O2 -o bench/.build/c_echo_server bench/c_echo_server.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ws_common.h"

#define OUT_HIGH (4u << 20) /* stop reading a connection with this much output pending */

typedef struct {
  int fd;
  int open;     /* handshake done */
  char *head;   /* handshake bytes, until complete */
  int head_len;
  uint8_t hdr[14];
  int hdr_len;
  uint64_t left; /* payload bytes left in the current frame */
  uint8_t key[4];
  uint32_t key_off;
  int in_frame;
  int closing;
  uint8_t *out;
  size_t out_start, out_len, out_cap;
  int events;
} conn_t;

static int ep;
static uint8_t rbuf[1 << 18];

static void drop(conn_t *c) {
  close(c->fd);
  free(c->head);
  free(c->out);
  free(c);
}

static void append(conn_t *c, const void *data, size_t n) {
  if (c->out_start + c->out_len + n > c->out_cap) {
    if (c->out_start > 0) {
      memmove(c->out, c->out + c->out_start, c->out_len);
      c->out_start = 0;
    }
    if (c->out_len + n > c->out_cap) {
      size_t cap = c->out_cap ? c->out_cap : 4096;
      while (cap < c->out_len + n) cap *= 2;
      c->out = realloc(c->out, cap);
      c->out_cap = cap;
    }
  }
  memcpy(c->out + c->out_start + c->out_len, data, n);
  c->out_len += n;
}

static void set_events(conn_t *c, int events) {
  if (c->events == events) return;
  c->events = events;
  struct epoll_event ev = {.events = (uint32_t)events, .data.ptr = c};
  epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Write pending output; returns -1 when the connection is gone. */
static int flush(conn_t *c) {
  while (c->out_len > 0) {
    ssize_t w = write(c->fd, c->out + c->out_start, c->out_len);
    if (w < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      drop(c);
      return -1;
    }
    c->out_start += (size_t)w;
    c->out_len -= (size_t)w;
  }
  if (c->out_len == 0) {
    free(c->out);
    c->out = NULL;
    c->out_start = c->out_cap = 0;
    if (c->closing) {
      drop(c);
      return -1;
    }
  }
  int ev = (c->out_len > 0 ? EPOLLOUT : 0) | (c->out_len < OUT_HIGH ? EPOLLIN : 0);
  set_events(c, ev);
  return 0;
}

static void unmask(uint8_t *p, size_t n, const uint8_t key[4], uint32_t off) {
  size_t i = 0;
  while (i < n && ((uintptr_t)(p + i) & 7) != 0) { p[i] ^= key[(off + i) & 3]; i++; }
  uint8_t k8[8];
  for (int j = 0; j < 8; j++) k8[j] = key[(off + i + (size_t)j) & 3];
  uint64_t w;
  memcpy(&w, k8, 8);
  for (; i + 8 <= n; i += 8) *(uint64_t *)(p + i) ^= w;
  for (; i < n; i++) p[i] ^= key[(off + i) & 3];
}

static void on_frames(conn_t *c, uint8_t *data, size_t n) {
  size_t p = 0;
  while (p < n && !c->closing) {
    if (!c->in_frame) {
      while (c->hdr_len < 2 && p < n) c->hdr[c->hdr_len++] = data[p++];
      if (c->hdr_len < 2) return;
      int len7 = c->hdr[1] & 0x7f;
      int ext = len7 == 126 ? 2 : len7 == 127 ? 8 : 0;
      int need = 2 + ext + ((c->hdr[1] & 0x80) ? 4 : 0);
      while (c->hdr_len < need && p < n) c->hdr[c->hdr_len++] = data[p++];
      if (c->hdr_len < need) return;
      uint64_t len = (uint64_t)len7;
      if (len7 == 126) len = (uint64_t)c->hdr[2] << 8 | c->hdr[3];
      if (len7 == 127) {
        len = 0;
        for (int i = 2; i < 10; i++) len = len << 8 | c->hdr[i];
      }
      if (c->hdr[1] & 0x80) memcpy(c->key, c->hdr + 2 + ext, 4);
      else memset(c->key, 0, 4);
      c->key_off = 0;
      int op = c->hdr[0] & 0x0f;
      uint8_t out[10];
      out[0] = op == 9 ? (uint8_t)((c->hdr[0] & 0xf0) | 10) : c->hdr[0];
      out[1] = (uint8_t)len7;
      memcpy(out + 2, c->hdr + 2, (size_t)ext);
      append(c, out, 2 + (size_t)ext);
      if (op == 8) c->closing = 1; /* echo the close frame, then close */
      c->hdr_len = 0;
      c->left = len;
      c->in_frame = len > 0;
      continue;
    }
    size_t take = (size_t)(c->left < n - p ? c->left : n - p);
    unmask(data + p, take, c->key, c->key_off);
    append(c, data + p, take);
    c->key_off += (uint32_t)take;
    c->left -= take;
    p += take;
    if (c->left == 0) c->in_frame = 0;
  }
  if (c->closing) shutdown(c->fd, SHUT_RD);
}

static void on_head(conn_t *c, uint8_t *data, size_t n) {
  if (c->head == NULL) c->head = malloc(4097);
  size_t room = 4096 - (size_t)c->head_len;
  size_t take = n < room ? n : room;
  memcpy(c->head + c->head_len, data, take);
  c->head_len += (int)take;
  c->head[c->head_len] = 0;
  char *end = strstr(c->head, "\r\n\r\n");
  if (end == NULL) {
    if (c->head_len >= 4096) c->closing = 1;
    return;
  }
  char *k = strcasestr(c->head, "\r\nsec-websocket-key:");
  if (k == NULL) {
    static const char bad[] = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
    append(c, bad, sizeof bad - 1);
    c->closing = 1;
    return;
  }
  k += 20;
  while (*k == ' ') k++;
  size_t kl = strcspn(k, " \r\n");
  char acc[29];
  accept_key(k, kl, acc);
  char resp[256];
  int rl = snprintf(resp, sizeof resp,
                    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                    "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
                    acc);
  append(c, resp, (size_t)rl);
  size_t head_end = (size_t)(end - c->head) + 4;
  size_t before = (size_t)c->head_len - take;
  free(c->head);
  c->head = NULL;
  c->open = 1;
  if (head_end - before < n) on_frames(c, data + (head_end - before), n - (head_end - before));
}

int main(int argc, char **argv) {
  int port = 0;
  for (int i = 1; i + 1 < argc; i += 2)
    if (!strcmp(argv[i], "--port")) port = atoi(argv[i + 1]);
  signal(SIGPIPE, SIG_IGN);
  signal(SIGUSR2, SIG_IGN);
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  int one = 1;
  setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(ls, (struct sockaddr *)&a, sizeof a) < 0 || listen(ls, 4096) < 0) {
    perror("listen");
    return 1;
  }
  socklen_t al = sizeof a;
  getsockname(ls, (struct sockaddr *)&a, &al);
  printf("PORT %d\n", ntohs(a.sin_port));
  fflush(stdout);
  ep = epoll_create1(0);
  struct epoll_event lev = {.events = EPOLLIN, .data.ptr = NULL};
  epoll_ctl(ep, EPOLL_CTL_ADD, ls, &lev);
  for (;;) {
    struct epoll_event evs[256];
    int n = epoll_wait(ep, evs, 256, -1);
    for (int i = 0; i < n; i++) {
      conn_t *c = evs[i].data.ptr;
      if (c == NULL) {
        for (int k = 0; k < 64; k++) {
          int fd = accept4(ls, NULL, NULL, SOCK_NONBLOCK);
          if (fd < 0) break;
          setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          conn_t *nc = calloc(1, sizeof *nc);
          nc->fd = fd;
          nc->events = EPOLLIN;
          struct epoll_event ev = {.events = EPOLLIN, .data.ptr = nc};
          epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
        }
        continue;
      }
      if (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
        ssize_t r = read(c->fd, rbuf, sizeof rbuf);
        if (r <= 0) {
          if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) continue;
          drop(c);
          continue;
        }
        if (c->open) on_frames(c, rbuf, (size_t)r);
        else on_head(c, rbuf, (size_t)r);
      }
      flush(c);
    }
  }
}
