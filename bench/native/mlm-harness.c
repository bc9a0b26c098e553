/*
 * MLM load generator with raw libzmq DEALERs driven from one thread with zmq_poll: the kind of
 * client the C broker is usually measured with, and no TypeScript on the client side, so the
 * same clients can load our broker and the C broker in one run (bench/libzmq-clients.ts builds
 * and drives it). MLM frames are encoded by hand as in docs/mlm-protocol (AA A8, message id,
 * strings as length byte + bytes, numbers big-endian).
 *
 *   mlm-harness ENDPOINT CASE MS [BROKER_PID]
 *
 * CASE: seq10 | pipe10 | seq64k | pipe64k (service round trips: 1 worker and 1 in flight, or 4
 * workers and 64 in flight; workers OFFER and answer each SERVICE-DELIVER at once with a
 * MAILBOX-SEND to the sender, as C workers do), stream (1 writer, 1 reader), fan10 (1 writer,
 * 10 readers), mailbox (MAILBOX-SEND to a connected reader); the one-way cases keep at most
 * 1,000 messages per reader sent and not yet received. 10 B bodies unless the case says 64k.
 * After 500 ms of warm-up it measures MS ms and prints one line of key=value pairs: rate (round
 * trips or deliveries per second), p50/p99/p999 in µs (service cases), the harness's CPU as %
 * of one core, and with BROKER_PID the broker's CPU µs per message it routed (from /proc, so
 * Linux only; a round trip routes two messages, a fan-out delivery one).
 */
#include <zmq.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define MAX_PEERS 16
#define SLOTS 65536
#define WARM_UP_US 500e3
#define WINDOW 1000

static void *ctx;
static int broker_pid;

static double now_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static void die(const char *what) {
  fprintf(stderr, "mlm-harness: %s: %s\n", what, zmq_strerror(zmq_errno()));
  exit(1);
}

/* CPU time (user + system) in µs of a process (/proc/PID/stat fields 14 and 15), -1 if unknown. */
static double proc_cpu_us(int pid) {
  char path[64], buf[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  char *p = strrchr(buf, ')'); /* the command name may hold spaces */
  if (!p) return -1;
  unsigned long utime = 0, stime = 0;
  /* after ')': state(3) ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime(14) stime(15) */
  if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime) != 2) return -1;
  return (utime + stime) * 1e6 / sysconf(_SC_CLK_TCK);
}

static double self_cpu_us(void) {
  struct rusage u;
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec * 1e6 + u.ru_utime.tv_usec + u.ru_stime.tv_sec * 1e6 + u.ru_stime.tv_usec;
}

static uint8_t *put_str(uint8_t *p, const char *s) {
  size_t n = strlen(s);
  *p++ = (uint8_t)n;
  memcpy(p, s, n);
  return p + n;
}
static uint8_t *put_n2(uint8_t *p, unsigned v) { *p++ = v >> 8; *p++ = v & 255; return p; }
static uint8_t *put_n4(uint8_t *p, unsigned v) { *p++ = v >> 24; *p++ = v >> 16; *p++ = v >> 8; *p++ = v; return p; }
static uint8_t *header(uint8_t *p, int id) { *p++ = 0xAA; *p++ = 0xA8; *p++ = id; return p; }

/* Reads a string field at *p into out (NUL-terminated), advancing *p past it. */
static void get_str(const uint8_t **p, const uint8_t *end, char *out) {
  int n = *p < end ? **p : 0;
  if (*p + 1 + n > end) n = 0;
  memcpy(out, *p + 1, n);
  out[n] = 0;
  *p += 1 + n;
}

static void send_message(void *s, const uint8_t *head, size_t head_len, const void *body, size_t body_len, int has_body) {
  if (zmq_send(s, head, head_len, has_body ? ZMQ_SNDMORE : 0) < 0) die("send");
  if (has_body && zmq_send(s, body, body_len, 0) < 0) die("send");
}

/* Receives one whole MLM message and returns its id; the header is kept in *m (caller closes). */
static int recv_header(void *s, zmq_msg_t *m, int flags) {
  zmq_msg_init(m);
  if (zmq_msg_recv(m, s, flags) < 0) {
    zmq_msg_close(m);
    return -1;
  }
  return zmq_msg_size(m) >= 3 ? ((uint8_t *)zmq_msg_data(m))[2] : 0;
}

static void skip_rest(void *s, zmq_msg_t *m) {
  zmq_msg_t part;
  int more = zmq_msg_more(m);
  zmq_msg_init(&part);
  while (more) {
    if (zmq_msg_recv(&part, s, 0) < 0) die("recv");
    more = zmq_msg_more(&part);
  }
  zmq_msg_close(&part);
}

/* Sends a command and waits for the broker's OK (id 14). */
static void expect_ok(void *s, const uint8_t *cmd, size_t len, const char *what) {
  zmq_msg_t m;
  send_message(s, cmd, len, 0, 0, 0);
  int id = recv_header(s, &m, 0);
  skip_rest(s, &m);
  zmq_msg_close(&m);
  if (id != 14) {
    fprintf(stderr, "mlm-harness: %s: expected OK, got message id %d\n", what, id);
    exit(1);
  }
}

/* A DEALER that has opened an MLM connection under `address`. */
static void *open_peer(const char *endpoint, const char *address) {
  void *s = zmq_socket(ctx, ZMQ_DEALER);
  int hwm = 100000, linger = 0;
  zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof hwm);
  zmq_setsockopt(s, ZMQ_RCVHWM, &hwm, sizeof hwm);
  zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
  if (zmq_connect(s, endpoint) != 0) die("connect");
  uint8_t b[300], *p = header(b, 1);
  p = put_str(p, "MALAMUTE");
  p = put_n2(p, 1);
  p = put_str(p, address);
  expect_ok(s, b, p - b, "CONNECTION-OPEN");
  return s;
}

static int by_value(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double quantile(const double *sorted, size_t n, double q) {
  if (n == 0) return 0;
  size_t i = (size_t)(q * n + 0.999999);
  return sorted[i == 0 ? 0 : (i > n ? n : i) - 1];
}

/* The measured window: starts after the warm-up, reports rate, CPU and broker CPU per message. */
struct window {
  double start, t0, cpu0, broker0, end_us;
  long count0;
  int recording;
};

static void window_begin(struct window *w, double ms) {
  w->start = now_us();
  w->end_us = WARM_UP_US + ms * 1e3;
  w->recording = 0;
}

/* Returns 0 when the window is over; starts recording after the warm-up. */
static int window_tick(struct window *w, long count) {
  double t = now_us() - w->start;
  if (!w->recording && t >= WARM_UP_US) {
    w->recording = 1;
    w->t0 = now_us();
    w->cpu0 = self_cpu_us();
    w->broker0 = broker_pid ? proc_cpu_us(broker_pid) : -1;
    w->count0 = count;
  }
  return t < w->end_us;
}

static void window_print(struct window *w, const char *name, long count, int routed_per_count) {
  double elapsed = now_us() - w->t0, cpu = self_cpu_us() - w->cpu0;
  double broker = broker_pid ? proc_cpu_us(broker_pid) : -1;
  long n = count - w->count0;
  printf("case=%s rate=%.0f client_cpu_pct=%.0f", name, n / (elapsed / 1e6), 100 * cpu / elapsed);
  if (broker >= 0 && w->broker0 >= 0 && n > 0) printf(" broker_us_per_msg=%.3f", (broker - w->broker0) / (n * routed_per_count));
}

static void service(const char *endpoint, const char *name, int workers, int in_flight, size_t size, double ms) {
  char svc[64], address[64], tracker[16];
  void *worker[MAX_PEERS];
  zmq_pollitem_t items[MAX_PEERS + 1];
  snprintf(svc, sizeof svc, "bench-%d", getpid());
  for (int i = 0; i < workers; i++) {
    snprintf(address, sizeof address, "worker-%d-%d", i, getpid());
    worker[i] = open_peer(endpoint, address);
    uint8_t b[300], *p = header(b, 12);
    p = put_str(p, svc);
    p = put_str(p, ".*");
    expect_ok(worker[i], b, p - b, "SERVICE-OFFER");
    items[i + 1] = (zmq_pollitem_t){ worker[i], 0, ZMQ_POLLIN, 0 };
  }
  snprintf(address, sizeof address, "caller-%d", getpid());
  void *caller = open_peer(endpoint, address);
  items[0] = (zmq_pollitem_t){ caller, 0, ZMQ_POLLIN, 0 };
  uint8_t *body = calloc(1, size);
  double *sent_at = calloc(SLOTS, sizeof(double));
  size_t cap = 1 << 23, n_lat = 0;
  double *latency = malloc(cap * sizeof(double));
  unsigned next_id = 0;
  long replies = 0;
  struct window w;

  #define SEND_REQUEST() do { \
    uint8_t h[300], *q = header(h, 11); \
    snprintf(tracker, sizeof tracker, "%u", next_id); \
    q = put_str(q, svc); q = put_str(q, "rt"); q = put_str(q, tracker); q = put_n4(q, 0); \
    sent_at[next_id++ & (SLOTS - 1)] = now_us(); \
    send_message(caller, h, q - h, body, size, 1); \
  } while (0)

  window_begin(&w, ms);
  for (int i = 0; i < in_flight; i++) SEND_REQUEST();
  while (window_tick(&w, replies)) {
    if (zmq_poll(items, workers + 1, 100) < 0) die("poll");
    for (int i = 0; i < workers; i++) {
      if (!(items[i + 1].revents & ZMQ_POLLIN)) continue;
      zmq_msg_t m, content;
      while (recv_header(worker[i], &m, ZMQ_DONTWAIT) >= 0) {
        const uint8_t *p = zmq_msg_data(&m), *end = p + zmq_msg_size(&m);
        char sender[256], service_name[256], subject[256], trk[256];
        if (p[2] != 13) { fprintf(stderr, "mlm-harness: worker got message id %d\n", p[2]); exit(1); }
        p += 3;
        get_str(&p, end, sender); get_str(&p, end, service_name); get_str(&p, end, subject); get_str(&p, end, trk);
        zmq_msg_init(&content);
        if (zmq_msg_recv(&content, worker[i], 0) < 0) die("recv");
        uint8_t h[300], *q = header(h, 9);
        q = put_str(q, sender); q = put_str(q, subject); q = put_str(q, trk); q = put_n4(q, 0);
        if (zmq_send(worker[i], h, q - h, ZMQ_SNDMORE) < 0 || zmq_msg_send(&content, worker[i], 0) < 0) die("send");
        zmq_msg_close(&content);
        zmq_msg_close(&m);
      }
    }
    if (items[0].revents & ZMQ_POLLIN) {
      zmq_msg_t m;
      while (recv_header(caller, &m, ZMQ_DONTWAIT) >= 0) {
        const uint8_t *p = zmq_msg_data(&m), *end = p + zmq_msg_size(&m);
        char sender[256], mailbox[256], subject[256], trk[256];
        if (p[2] != 10) { fprintf(stderr, "mlm-harness: caller got message id %d\n", p[2]); exit(1); }
        p += 3;
        get_str(&p, end, sender); get_str(&p, end, mailbox); get_str(&p, end, subject); get_str(&p, end, trk);
        skip_rest(caller, &m);
        zmq_msg_close(&m);
        double t = now_us();
        if (w.recording && n_lat < cap) latency[n_lat++] = t - sent_at[(unsigned)atol(trk) & (SLOTS - 1)];
        replies++;
        SEND_REQUEST();
      }
    }
  }
  window_print(&w, name, replies, 2);
  qsort(latency, n_lat, sizeof(double), by_value);
  printf(" p50=%.0f p99=%.0f p999=%.0f\n", quantile(latency, n_lat, 0.5), quantile(latency, n_lat, 0.99), quantile(latency, n_lat, 0.999));
  zmq_close(caller);
  for (int i = 0; i < workers; i++) zmq_close(worker[i]);
}

/* kind 0: stream (STREAM-WRITE / STREAM-READ / STREAM-SEND); kind 1: MAILBOX-SEND to reader 0. */
static void one_way(const char *endpoint, const char *name, int kind, int readers, double ms) {
  char stream[64], reader_address[MAX_PEERS][64], address[64];
  void *reader[MAX_PEERS];
  zmq_pollitem_t items[MAX_PEERS];
  snprintf(stream, sizeof stream, "stream-%d", getpid());
  for (int i = 0; i < readers; i++) {
    snprintf(reader_address[i], 64, "reader-%d-%d", i, getpid());
    reader[i] = open_peer(endpoint, reader_address[i]);
    if (kind == 0) {
      uint8_t b[300], *p = header(b, 6);
      p = put_str(p, stream);
      p = put_str(p, ".*");
      expect_ok(reader[i], b, p - b, "STREAM-READ");
    }
    items[i] = (zmq_pollitem_t){ reader[i], 0, ZMQ_POLLIN, 0 };
  }
  snprintf(address, sizeof address, "writer-%d", getpid());
  void *writer = open_peer(endpoint, address);
  uint8_t head[300], *p;
  if (kind == 0) {
    p = header(head, 5);
    p = put_str(p, stream);
    expect_ok(writer, head, p - head, "STREAM-WRITE");
    p = header(head, 7);
    p = put_str(p, "subject");
  } else {
    p = header(head, 9);
    p = put_str(p, reader_address[0]);
    p = put_str(p, "subject");
    p = put_str(p, "");
    p = put_n4(p, 0);
  }
  size_t head_len = p - head;
  static const char body[10] = "0123456789";
  long sent = 0, received = 0;
  struct window w;
  window_begin(&w, ms);
  while (window_tick(&w, received)) {
    while ((sent * readers) - received < WINDOW * readers) {
      send_message(writer, head, head_len, body, sizeof body, 1);
      sent++;
    }
    if (zmq_poll(items, readers, 100) < 0) die("poll");
    for (int i = 0; i < readers; i++) {
      if (!(items[i].revents & ZMQ_POLLIN)) continue;
      zmq_msg_t m;
      while (recv_header(reader[i], &m, ZMQ_DONTWAIT) >= 0) {
        skip_rest(reader[i], &m);
        zmq_msg_close(&m);
        received++;
      }
    }
  }
  window_print(&w, name, received, 1);
  printf("\n");
  zmq_close(writer);
  for (int i = 0; i < readers; i++) zmq_close(reader[i]);
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: mlm-harness ENDPOINT CASE MS [BROKER_PID]\n");
    return 2;
  }
  const char *endpoint = argv[1], *name = argv[2];
  double ms = atof(argv[3]);
  broker_pid = argc > 4 ? atoi(argv[4]) : 0;
  ctx = zmq_ctx_new();
  if (!strcmp(name, "seq10")) service(endpoint, name, 1, 1, 10, ms);
  else if (!strcmp(name, "pipe10")) service(endpoint, name, 4, 64, 10, ms);
  else if (!strcmp(name, "seq64k")) service(endpoint, name, 1, 1, 65536, ms);
  else if (!strcmp(name, "pipe64k")) service(endpoint, name, 4, 64, 65536, ms);
  else if (!strcmp(name, "stream")) one_way(endpoint, name, 0, 1, ms);
  else if (!strcmp(name, "fan10")) one_way(endpoint, name, 0, 10, ms);
  else if (!strcmp(name, "mailbox")) one_way(endpoint, name, 1, 1, ms);
  else {
    fprintf(stderr, "mlm-harness: unknown case %s\n", name);
    return 2;
  }
  fflush(stdout);
  zmq_ctx_term(ctx);
  return 0;
}
