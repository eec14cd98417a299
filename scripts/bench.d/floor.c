/* The floor of bench row 1.2f: the least CPU any receiver can spend per message on this
 * machine. It waits (epoll_wait), reads, and counts "bnchtick" in the raw bytes, answering
 * Engine.IO pings; no WebSocket decoding, no JSON, no callback.
 *
 *   floor FD COUNT IDLE_S MAX_S   FD: a socket already upgraded and joined (floor.py)
 *
 * Prints RESULT {json} like recv.lua: count, first/last (wall s), cpu_first/cpu_last (CPU s). */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

static double clock_s(clockid_t id) {
    struct timespec t;
    clock_gettime(id, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    if (argc != 5) { fprintf(stderr, "usage: floor FD COUNT IDLE_S MAX_S\n"); return 2; }
    int fd = atoi(argv[1]);
    long target = atol(argv[2]), n = 0;
    double idle = atof(argv[3]), max_s = atof(argv[4]);
    static const char mark[] = "\"bnchtick\"", ping[] = "\x81\x01" "2";
    static const char pong[] = "\x81\x81\0\0\0\0" "3";  /* a masked client frame, zero key */
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
    if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) { perror("epoll"); return 1; }
    static char buf[65536 + 16];
    size_t keep = 0;
    double first = 0, last = 0, cpu_first = 0, cpu_last = 0;
    const char *stop = "count";
    while (n < target) {
        struct epoll_event out;
        int k = epoll_wait(ep, &out, 1, (int)(idle * 1000));
        if (k == 0 && n > 0) { stop = "idle"; break; }
        if (k <= 0) continue;
        ssize_t r = read(fd, buf + keep, 65536);
        if (r <= 0) { stop = "disconnected"; break; }
        size_t len = keep + (size_t)r;
        long before = n;
        for (char *p = buf; (p = memmem(p, buf + len - p, mark, sizeof mark - 1)); p += sizeof mark - 1) n++;
        for (char *p = buf; (p = memmem(p, buf + len - p, ping, sizeof ping - 1)); p += sizeof ping - 1)
            if (write(fd, pong, sizeof pong - 1) < 0) { stop = "disconnected"; break; }
        if (n > before) {
            last = clock_s(CLOCK_REALTIME);
            if (before == 0) { first = last; cpu_first = clock_s(CLOCK_PROCESS_CPUTIME_ID); }
            if (last - first > max_s) { stop = "time"; break; }
        }
        keep = len < sizeof mark - 1 ? len : sizeof mark - 2;  /* a mark may straddle reads */
        memmove(buf, buf + len - keep, keep);
    }
    cpu_last = clock_s(CLOCK_PROCESS_CPUTIME_ID);
    printf("RESULT {\"count\":%ld,\"first\":%.6f,\"last\":%.6f,\"cpu_first\":%.6f,\"cpu_last\":%.6f,\"stop\":\"%s\"}\n",
           n, first, last, cpu_first, cpu_last, stop);
    return 0;
}
