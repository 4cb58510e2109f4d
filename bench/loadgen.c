/*
 * WebSocket load generator for bench/run.ts: one thread, epoll, plain C so that it is not the
 * system under test (bench/c_echo_server.c gives the ceiling it can drive).
 *
 * echo mode: opens --conns connections (RFC 6455 client handshake, Sec-WebSocket-Accept
 * checked), keeps --inflight messages of --size bytes (--opcode text|binary) in flight on each,
 * and checks every echo byte for byte, with its opcode, in order. Frames are masked with random
 * keys; the masked frames are built once per payload variant (64 variants, so consecutive
 * messages differ) and reused, so sending costs the generator one writev, not a masking pass.
 * After --warmup seconds it measures for --duration seconds: messages and bytes echoed, the
 * latency of each message (send to complete echo, histogram at 1 us resolution up to 100 ms),
 * the server's CPU time (utime + stime of /proc/<--server-pid>/stat, all its threads) and its
 * own CPU time (getrusage), how long the server's main thread and the generator waited for a CPU
 * while runnable (/proc/<pid>/schedstat: a measure of interference from other processes), and
 * prints one JSON line.
 *
 * idle mode: opens --conns connections (at most --parallel handshakes at a time), prints
 * {"ready":...} and waits for a line on stdin: "verify" sends one 32-byte text message on every
 * connection, checks every echo and prints the result; end of input just exits. Connections
 * that the server closes meanwhile are counted.
 *
 * Connections are closed with RST (SO_LINGER 0) so that no TIME_WAIT piles up on loopback ports.
 * Every loop is bounded by --max-time seconds.
 *
 * Build: gcc -O2 -o bench/.build/loadgen bench/loadgen.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "ws_common.h"

#define NV 64             /* payload variants */
#define MAX_IOV 256       /* frames per writev */
#define HIST_FINE 100000  /* 1 us buckets up to 100 ms */
#define HIST_COARSE 10000 /* then 1 ms buckets up to 10 s */

enum { C_CONNECTING, C_HANDSHAKE, C_OPEN, C_DEAD };

typedef struct {
  int fd;
  int state;
  int idx;
  char expect[29];
  char head[1024];
  int head_len;
  /* sending: frames of seqs [send_seq, send_seq + to_send) are owed; out_off bytes of the first
   * one are already written */
  uint64_t send_seq;
  uint64_t recv_seq;
  int to_send;
  size_t out_off;
  int want_out;
  uint64_t *sent_at; /* ring of --inflight send times */
  /* receiving */
  uint8_t hdr[14];
  int hdr_len;
  uint64_t frame_left; /* payload bytes left in the current frame */
  int in_frame;
  int ctrl; /* the current frame is a ping or pong: skipped */
  uint64_t msg_off; /* payload bytes of the current message so far */
  int msg_bad;
  int msg_started;
} conn_t;

static struct {
  int port;
  int conns;
  int inflight;
  size_t size;
  int opcode;
  double warmup, duration, max_time;
  int server_pid;
  int parallel;
  int idle;
} cfg = {9001, 64, 32, 32, 2, 1.0, 3.0, 120.0, 0, 200, 0};

static conn_t *conns;
static int ep;
static uint8_t *payload[NV];
static uint8_t *frame[NV];
static size_t frame_len;
static uint8_t rbuf[1 << 18];

static int measuring;
static uint64_t m_msgs, m_bytes;
static uint32_t *hist;
static uint64_t total_msgs;
static long control_frames;
static long connect_errors, handshake_errors, conn_errors, verify_errors;
static char first_error[256];
static int n_open, n_pending;

static void note_error(const char *what, int idx) {
  if (first_error[0] == 0) snprintf(first_error, sizeof first_error, "%s (connection %d)", what, idx);
}

static uint64_t rnd_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void) {
  rnd_state ^= rnd_state << 13;
  rnd_state ^= rnd_state >> 7;
  rnd_state ^= rnd_state << 17;
  return rnd_state;
}

static void kill_conn(conn_t *c) {
  if (c->state == C_DEAD) return;
  if (c->state == C_OPEN) n_open--;
  else n_pending--;
  c->state = C_DEAD;
  struct linger lg = {1, 0};
  setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  close(c->fd);
}

static void set_out(conn_t *c, int want) {
  if (c->want_out == want) return;
  c->want_out = want;
  struct epoll_event ev = {.events = EPOLLIN | (want ? EPOLLOUT : 0), .data.u32 = (uint32_t)c->idx};
  epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static int variant(conn_t *c, uint64_t seq) { return (int)((seq + (uint64_t)c->idx) % NV); }

/* Write owed frames; returns -1 when the connection died. */
static int flush(conn_t *c) {
  while (c->to_send > 0) {
    struct iovec iov[MAX_IOV];
    int n = c->to_send < MAX_IOV ? c->to_send : MAX_IOV;
    for (int i = 0; i < n; i++) {
      int v = variant(c, c->send_seq + (uint64_t)i);
      size_t off = i == 0 ? c->out_off : 0;
      iov[i].iov_base = frame[v] + off;
      iov[i].iov_len = frame_len - off;
    }
    uint64_t t = now_ns();
    ssize_t w = writev(c->fd, iov, n);
    if (w < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        set_out(c, 1);
        return 0;
      }
      conn_errors++;
      note_error("write failed", c->idx);
      kill_conn(c);
      return -1;
    }
    size_t left = (size_t)w;
    while (left > 0) {
      size_t rest = frame_len - c->out_off;
      if (left >= rest) {
        left -= rest;
        c->sent_at[c->send_seq % (uint64_t)cfg.inflight] = t;
        c->send_seq++;
        c->to_send--;
        c->out_off = 0;
      } else {
        c->out_off += left;
        left = 0;
      }
    }
    if (c->to_send > 0 && c->out_off > 0) {
      set_out(c, 1);
      return 0;
    }
  }
  set_out(c, 0);
  return 0;
}

static void message_done(conn_t *c) {
  uint64_t t = now_ns();
  if (c->msg_bad) {
    verify_errors++;
  } else if (measuring) {
    uint64_t us = (t - c->sent_at[c->recv_seq % (uint64_t)cfg.inflight]) / 1000;
    size_t b = us < HIST_FINE ? us : HIST_FINE + ((us - HIST_FINE) / 1000 < HIST_COARSE - 1 ? (us - HIST_FINE) / 1000 : HIST_COARSE - 1);
    hist[b]++;
    m_msgs++;
    m_bytes += cfg.size;
  }
  total_msgs++;
  c->recv_seq++;
  c->msg_off = 0;
  c->msg_bad = 0;
  c->msg_started = 0;
  if (!cfg.idle) c->to_send++; /* idle mode's verify sends one message each */
}

/* Parse echoed frames from data; returns -1 when the connection died. */
static int on_frames(conn_t *c, const uint8_t *data, size_t n) {
  size_t p = 0;
  while (p < n) {
    if (!c->in_frame) {
      while (c->hdr_len < 2 && p < n) c->hdr[c->hdr_len++] = data[p++];
      if (c->hdr_len < 2) return 0;
      int len7 = c->hdr[1] & 0x7f;
      int need = 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + ((c->hdr[1] & 0x80) ? 4 : 0);
      while (c->hdr_len < need && p < n) c->hdr[c->hdr_len++] = data[p++];
      if (c->hdr_len < need) return 0;
      uint64_t len = (uint64_t)len7;
      if (len7 == 126) len = (uint64_t)c->hdr[2] << 8 | c->hdr[3];
      if (len7 == 127) {
        len = 0;
        for (int i = 2; i < 10; i++) len = len << 8 | c->hdr[i];
      }
      int fin = c->hdr[0] & 0x80;
      int op = c->hdr[0] & 0x0f;
      c->hdr_len = 0;
      if (op == 8) {
        conn_errors++;
        note_error("server sent a close frame", c->idx);
        kill_conn(c);
        return -1;
      }
      if (op >= 9) {
        control_frames++; /* a keepalive ping (or pong): not an echo, skipped */
        c->ctrl = 1;
        c->frame_left = len;
        c->in_frame = 1;
        if (len == 0) goto frame_end;
        continue;
      }
      if ((c->hdr[1] & 0x80) || (c->hdr[0] & 0x70)) c->msg_bad = 1;
      if (!c->msg_started ? op != cfg.opcode : op != 0) {
        c->msg_bad = 1;
        note_error("echo has the wrong opcode", c->idx);
      }
      c->msg_started = 1;
      if (c->msg_off + len > cfg.size) {
        verify_errors++;
        note_error("echo is longer than the message", c->idx);
        kill_conn(c);
        return -1;
      }
      c->frame_left = len;
      c->in_frame = 1;
      if (len == 0) goto frame_end;
      (void)fin;
    }
    if (c->ctrl) {
      size_t take = (size_t)(c->frame_left < n - p ? c->frame_left : n - p);
      p += take;
      c->frame_left -= take;
      if (c->frame_left > 0) return 0;
      goto frame_end;
    }
    {
      size_t take = (size_t)(c->frame_left < n - p ? c->frame_left : n - p);
      const uint8_t *want = payload[variant(c, c->recv_seq)] + c->msg_off;
      if (memcmp(data + p, want, take) != 0) {
        if (!c->msg_bad) note_error("echoed payload differs", c->idx);
        c->msg_bad = 1;
      }
      p += take;
      c->frame_left -= take;
      c->msg_off += take;
      if (c->frame_left > 0) return 0;
    }
  frame_end:
    c->in_frame = 0;
    if (c->ctrl) {
      c->ctrl = 0;
    } else if (c->hdr[0] & 0x80) {
      if (c->msg_off != cfg.size) {
        c->msg_bad = 1;
        note_error("echo is shorter than the message", c->idx);
      }
      message_done(c);
    }
  }
  return 0;
}

static void send_handshake(conn_t *c) {
  uint8_t raw[16];
  for (int i = 0; i < 16; i++) raw[i] = (uint8_t)rnd();
  char key[25];
  base64(raw, 16, key);
  accept_key(key, 24, c->expect);
  char req[512];
  int len = snprintf(req, sizeof req,
                     "GET / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                     "Sec-WebSocket-Version: 13\r\n\r\n",
                     cfg.port, key);
  if (write(c->fd, req, (size_t)len) != len) {
    handshake_errors++;
    note_error("cannot write the handshake", c->idx);
    kill_conn(c);
    return;
  }
  c->state = C_HANDSHAKE;
  set_out(c, 0);
}

static void start_connect(conn_t *c) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    connect_errors++;
    note_error("socket() failed (raise ulimit -n)", c->idx);
    c->state = C_DEAD;
    return;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)cfg.port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  c->fd = fd;
  c->state = C_CONNECTING;
  c->want_out = 1;
  n_pending++;
  struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.u32 = (uint32_t)c->idx};
  epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
  if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0 && errno != EINPROGRESS) {
    connect_errors++;
    note_error("connect failed", c->idx);
    kill_conn(c);
  }
}

static void on_open(conn_t *c, const uint8_t *extra, size_t n) {
  (void)extra;
  c->state = C_OPEN;
  n_pending--;
  n_open++;
  if (n > 0) {
    verify_errors++;
    note_error("server sent frames before any message", c->idx);
  }
}

static void on_head_bytes(conn_t *c, const uint8_t *data, size_t n) {
  size_t room = sizeof c->head - 1 - (size_t)c->head_len;
  size_t take = n < room ? n : room;
  memcpy(c->head + c->head_len, data, take);
  c->head_len += (int)take;
  c->head[c->head_len] = 0;
  char *end = strstr(c->head, "\r\n\r\n");
  if (end == NULL) {
    if (c->head_len >= (int)sizeof c->head - 1) {
      handshake_errors++;
      note_error("handshake answer too long", c->idx);
      kill_conn(c);
    }
    return;
  }
  size_t head_end = (size_t)(end - c->head) + 4;
  int ok = strncmp(c->head, "HTTP/1.1 101", 12) == 0;
  if (ok) {
    char *h = strcasestr(c->head, "\r\nsec-websocket-accept:");
    ok = h != NULL;
    if (ok) {
      h += 23;
      while (*h == ' ') h++;
      ok = strncmp(h, c->expect, 28) == 0;
    }
  }
  if (!ok) {
    handshake_errors++;
    note_error("handshake refused or Sec-WebSocket-Accept wrong", c->idx);
    kill_conn(c);
    return;
  }
  /* bytes of this read past the head (head_end is inside c->head; map back to data) */
  size_t before = (size_t)c->head_len - take;
  size_t extra_from = head_end > before ? head_end - before : 0;
  on_open(c, data + extra_from, n > extra_from ? n - extra_from : 0);
}

/* Handle one epoll event; returns nothing, failures are counted. */
static void on_event(conn_t *c, uint32_t events) {
  if (c->state == C_DEAD) return;
  if (c->state == C_CONNECTING) {
    int err = 0;
    socklen_t l = sizeof err;
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l);
    if (err != 0 || (events & (EPOLLERR | EPOLLHUP))) {
      connect_errors++;
      note_error("connect failed", c->idx);
      kill_conn(c);
      return;
    }
    if (events & EPOLLOUT) send_handshake(c);
    return;
  }
  if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
    for (int round = 0; round < 8; round++) {
      ssize_t r = read(c->fd, rbuf, sizeof rbuf);
      if (r < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        conn_errors++;
        note_error("read failed (reset by the server)", c->idx);
        kill_conn(c);
        return;
      }
      if (r == 0) {
        if (c->state == C_HANDSHAKE) handshake_errors++;
        else conn_errors++;
        note_error("server closed the connection", c->idx);
        kill_conn(c);
        return;
      }
      if (c->state == C_HANDSHAKE) {
        on_head_bytes(c, rbuf, (size_t)r);
      } else if (on_frames(c, rbuf, (size_t)r) < 0) {
        return;
      }
      if (c->state == C_DEAD) return;
      if ((size_t)r < sizeof rbuf) break;
    }
  }
  if (c->state == C_OPEN && c->to_send > 0) flush(c);
}

static double proc_cpu_s(int pid) {
  if (pid <= 0) return 0;
  char path[64], buf[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  char *p = strrchr(buf, ')');
  if (!p) return -1;
  unsigned long ut = 0, st = 0;
  /* after ") ": state(3) ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime(14) stime(15) */
  if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2) return -1;
  return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* Time the main thread of pid (0: this process) spent runnable but waiting for a CPU, in s. */
static double run_wait_s(int pid) {
  char path[64];
  if (pid > 0) snprintf(path, sizeof path, "/proc/%d/schedstat", pid);
  else snprintf(path, sizeof path, "/proc/self/schedstat");
  FILE *f = fopen(path, "r");
  if (!f) return 0;
  unsigned long long run = 0, wait = 0;
  int n = fscanf(f, "%llu %llu", &run, &wait);
  fclose(f);
  return n == 2 ? (double)wait / 1e9 : 0;
}

static double self_cpu_s(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
         ru.ru_stime.tv_usec / 1e6;
}

static void build_payloads(void) {
  size_t hl = 2 + (cfg.size < 126 ? 0 : cfg.size < 65536 ? 2 : 8) + 4;
  frame_len = hl + cfg.size;
  for (int v = 0; v < NV; v++) {
    payload[v] = malloc(cfg.size + 1);
    frame[v] = malloc(frame_len);
    for (size_t i = 0; i < cfg.size; i++) {
      payload[v][i] = cfg.opcode == 1 ? (uint8_t)('a' + (i * 7 + (size_t)v * 3) % 26) : (uint8_t)rnd();
    }
    uint8_t *f = frame[v];
    f[0] = (uint8_t)(0x80 | cfg.opcode);
    if (cfg.size < 126) {
      f[1] = (uint8_t)(0x80 | cfg.size);
    } else if (cfg.size < 65536) {
      f[1] = 0x80 | 126;
      f[2] = (uint8_t)(cfg.size >> 8);
      f[3] = (uint8_t)cfg.size;
    } else {
      f[1] = 0x80 | 127;
      for (int i = 0; i < 8; i++) f[2 + i] = (uint8_t)((uint64_t)cfg.size >> (56 - 8 * i));
    }
    uint8_t key[4];
    for (int i = 0; i < 4; i++) key[i] = (uint8_t)(rnd() | 1);
    memcpy(f + hl - 4, key, 4);
    for (size_t i = 0; i < cfg.size; i++) f[hl + i] = payload[v][i] ^ key[i & 3];
  }
}

static void poll_once(int timeout_ms) {
  struct epoll_event evs[512];
  int n = epoll_wait(ep, evs, 512, timeout_ms);
  for (int i = 0; i < n; i++) on_event(&conns[evs[i].data.u32], evs[i].events);
}

/* Open every connection, at most cfg.parallel handshakes at a time. */
static void open_all(uint64_t deadline) {
  int next = 0;
  while (now_ns() < deadline) {
    while (next < cfg.conns && n_pending < cfg.parallel) start_connect(&conns[next++]);
    if (next == cfg.conns && n_pending == 0) break;
    poll_once(10);
  }
}

static double pct(double q) {
  uint64_t total = 0;
  for (size_t i = 0; i < HIST_FINE + HIST_COARSE; i++) total += hist[i];
  if (total == 0) return 0;
  uint64_t want = (uint64_t)(q * (double)total);
  if (want >= total) want = total - 1;
  uint64_t seen = 0;
  for (size_t i = 0; i < HIST_FINE + HIST_COARSE; i++) {
    seen += hist[i];
    if (seen > want) return i < HIST_FINE ? (double)i + 0.5 : HIST_FINE + (double)(i - HIST_FINE) * 1000 + 500;
  }
  return 0;
}

static void print_errors(void) {
  printf("\"control_frames\":%ld,\"connect_errors\":%ld,\"handshake_errors\":%ld,\"conn_errors\":%ld,\"verify_errors\":%ld,"
         "\"first_error\":\"%s\"",
         control_frames, connect_errors, handshake_errors, conn_errors, verify_errors, first_error);
}

static void run_echo(uint64_t t_start) {
  uint64_t deadline = t_start + (uint64_t)(cfg.max_time * 1e9);
  open_all(t_start + (uint64_t)(30e9));
  int opened = n_open;
  for (int i = 0; i < cfg.conns; i++) {
    conn_t *c = &conns[i];
    if (c->state != C_OPEN) continue;
    c->to_send = cfg.inflight;
    flush(c);
  }
  uint64_t t0 = now_ns();
  uint64_t m_start = t0 + (uint64_t)(cfg.warmup * 1e9);
  uint64_t m_end = m_start + (uint64_t)(cfg.duration * 1e9);
  if (m_end > deadline) m_end = deadline;
  double srv0 = 0, self0 = 0, srv1 = 0, self1 = 0, sw0 = 0, gw0 = 0;
  uint64_t wall0 = 0, wall1 = 0;
  while (n_open > 0) {
    uint64_t t = now_ns();
    if (!measuring && wall0 == 0 && t >= m_start) {
      measuring = 1;
      wall0 = t;
      srv0 = proc_cpu_s(cfg.server_pid);
      self0 = self_cpu_s();
      sw0 = run_wait_s(cfg.server_pid);
      gw0 = run_wait_s(0);
    }
    if (t >= m_end) break;
    poll_once(5);
  }
  wall1 = now_ns();
  srv1 = proc_cpu_s(cfg.server_pid);
  self1 = self_cpu_s();
  double sw = run_wait_s(cfg.server_pid) - sw0, gw = run_wait_s(0) - gw0;
  measuring = 0;
  if (wall0 == 0) wall0 = wall1;
  double secs = (double)(wall1 - wall0) / 1e9;
  double srv = srv1 - srv0;
  printf("{\"mode\":\"echo\",\"conns\":%d,\"open\":%d,\"open_at_end\":%d,\"inflight\":%d,\"size\":%zu,"
         "\"opcode\":\"%s\",\"duration_s\":%.3f,\"messages\":%llu,\"bytes\":%llu,"
         "\"msgs_per_s\":%.1f,\"mb_per_s\":%.3f,\"p50_us\":%.1f,\"p99_us\":%.1f,"
         "\"server_cpu_s\":%.3f,\"server_cpu_us_per_msg\":%.4f,\"server_cpu_util\":%.3f,"
         "\"loadgen_cpu_util\":%.3f,\"server_run_wait\":%.3f,\"loadgen_run_wait\":%.3f,",
         cfg.conns, opened, n_open, cfg.inflight, cfg.size, cfg.opcode == 1 ? "text" : "binary", secs,
         (unsigned long long)m_msgs, (unsigned long long)m_bytes, secs > 0 ? m_msgs / secs : 0,
         secs > 0 ? m_bytes / secs / 1e6 : 0, pct(0.5), pct(0.99), srv,
         m_msgs > 0 ? srv * 1e6 / (double)m_msgs : 0, secs > 0 ? srv / secs : 0,
         secs > 0 ? (self1 - self0) / secs : 0, secs > 0 ? sw / secs : 0, secs > 0 ? gw / secs : 0);
  print_errors();
  printf("}\n");
  fflush(stdout);
}

static void run_idle(uint64_t t_start) {
  uint64_t deadline = t_start + (uint64_t)(cfg.max_time * 1e9);
  uint64_t t0 = now_ns();
  open_all(deadline);
  printf("{\"ready\":true,\"conns\":%d,\"open\":%d,\"connect_ms\":%.1f,", cfg.conns, n_open,
         (double)(now_ns() - t0) / 1e6);
  print_errors();
  printf("}\n");
  fflush(stdout);
  /* wait for a command on stdin, watching the connections meanwhile */
  char line[64];
  size_t ll = 0;
  int cmd_verify = 0;
  fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK);
  struct epoll_event sev = {.events = EPOLLIN, .data.u32 = 0xffffffffu};
  epoll_ctl(ep, EPOLL_CTL_ADD, 0, &sev);
  int done = 0;
  while (!done && now_ns() < deadline) {
    struct epoll_event evs[512];
    int n = epoll_wait(ep, evs, 512, 50);
    for (int i = 0; i < n; i++) {
      if (evs[i].data.u32 == 0xffffffffu) {
        ssize_t r = read(0, line + ll, sizeof line - 1 - ll);
        if (r <= 0) {
          done = 1;
          break;
        }
        ll += (size_t)r;
        line[ll] = 0;
        if (strchr(line, '\n')) {
          cmd_verify = strncmp(line, "verify", 6) == 0;
          done = 1;
        }
        if (ll >= sizeof line - 1) ll = 0;
      } else {
        on_event(&conns[evs[i].data.u32], evs[i].events);
      }
    }
  }
  if (!cmd_verify) return;
  int before = n_open;
  for (int i = 0; i < cfg.conns; i++) {
    conn_t *c = &conns[i];
    if (c->state != C_OPEN) continue;
    c->to_send = 1;
    flush(c);
  }
  uint64_t vdeadline = now_ns() + 15000000000ull;
  if (vdeadline > deadline) vdeadline = deadline;
  while (total_msgs < (uint64_t)before && n_open > 0 && now_ns() < vdeadline) {
    struct epoll_event evs[512];
    int n = epoll_wait(ep, evs, 512, 10);
    for (int i = 0; i < n; i++) {
      if (evs[i].data.u32 == 0xffffffffu) continue;
      conn_t *c = &conns[evs[i].data.u32];
      on_event(c, evs[i].events);
    }
  }
  printf("{\"mode\":\"idle\",\"conns\":%d,\"open_before_verify\":%d,\"echoed\":%llu,", cfg.conns, before,
         (unsigned long long)total_msgs);
  print_errors();
  printf("}\n");
  fflush(stdout);
}

int main(int argc, char **argv) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const char *k = argv[i], *v = argv[i + 1];
    if (!strcmp(k, "--port")) cfg.port = atoi(v);
    else if (!strcmp(k, "--conns")) cfg.conns = atoi(v);
    else if (!strcmp(k, "--inflight")) cfg.inflight = atoi(v);
    else if (!strcmp(k, "--size")) cfg.size = (size_t)atol(v);
    else if (!strcmp(k, "--opcode")) cfg.opcode = !strcmp(v, "text") ? 1 : 2;
    else if (!strcmp(k, "--warmup")) cfg.warmup = atof(v);
    else if (!strcmp(k, "--duration")) cfg.duration = atof(v);
    else if (!strcmp(k, "--max-time")) cfg.max_time = atof(v);
    else if (!strcmp(k, "--server-pid")) cfg.server_pid = atoi(v);
    else if (!strcmp(k, "--parallel")) cfg.parallel = atoi(v);
    else if (!strcmp(k, "--mode")) cfg.idle = !strcmp(v, "idle");
    else {
      fprintf(stderr, "unknown option %s\n", k);
      return 2;
    }
  }
  if (cfg.conns < 1 || cfg.inflight < 1 || cfg.inflight > NV / 2) {
    fprintf(stderr, "need --conns >= 1 and 1 <= --inflight <= %d\n", NV / 2);
    return 2;
  }
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  rnd_state ^= (uint64_t)now_ns() * 0x2545F4914F6CDD1Dull ^ (uint64_t)getpid();
  if (cfg.idle) {
    cfg.size = 32;
    cfg.opcode = 1;
    cfg.inflight = 1;
  }
  hist = calloc(HIST_FINE + HIST_COARSE, sizeof *hist);
  conns = calloc((size_t)cfg.conns, sizeof *conns);
  for (int i = 0; i < cfg.conns; i++) {
    conns[i].idx = i;
    conns[i].state = C_DEAD;
    conns[i].sent_at = calloc((size_t)cfg.inflight, sizeof(uint64_t));
  }
  build_payloads();
  ep = epoll_create1(0);
  uint64_t t_start = now_ns();
  if (cfg.idle) run_idle(t_start);
  else run_echo(t_start);
  for (int i = 0; i < cfg.conns; i++) kill_conn(&conns[i]);
  return 0;
}
