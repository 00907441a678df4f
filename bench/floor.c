/* floor: a reference, not a tool: the least a gate can do (blocking HTTP GET on 127.0.0.1 until 200, then exec). */
/*
 * Usage: floor PORT INTERVAL_MS -- COMMAND [ARGS...]
 * One blocking connect + "GET /healthz/ready" + read per probe, INTERVAL_MS between probes, no timeouts, no
 * parsing beyond the status code, then execvp. The benchmark runs it next to readygate so the report shows
 * what exec, page faults and a loopback TCP exchange cost on the machine at hand: the floor any gate pays.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int probe(int port) {
    static const char req[] = "GET /healthz/ready HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    char buf[512];
    int ok = 0, s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)port);
    a.sin_addr.s_addr = htonl(0x7f000001);
    if (s >= 0 && connect(s, (struct sockaddr *)&a, sizeof a) == 0 &&
        write(s, req, sizeof req - 1) == (ssize_t)(sizeof req - 1)) {
        ssize_t n = read(s, buf, sizeof buf - 1);
        ok = n >= 12 && memcmp(buf + 9, "200", 3) == 0;
    }
    if (s >= 0) close(s);
    return ok;
}

int main(int argc, char **argv) {
    if (argc < 5 || strcmp(argv[3], "--") != 0) {
        fprintf(stderr, "usage: floor PORT INTERVAL_MS -- COMMAND [ARGS...]\n");
        return 2;
    }
    int port = atoi(argv[1]);
    long ms = atol(argv[2]);
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (!probe(port)) nanosleep(&ts, NULL);
    execvp(argv[4], argv + 4);
    perror("floor: exec");
    return 127;
}
