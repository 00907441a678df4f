/* The demo application of examples/compose: its first act is one outbound call through the
 * sidecar (GET http://127.0.0.1:15020/healthz/ready, as any first dial would go through the
 * proxy), and its first line says how that call went. Started behind readygate, it says 200;
 * started without the gate, it can say "refused" or 503: the race readygate closes.
 *
 *   demo-app NAME            make the call, print the line, exit 0
 *   demo-app NAME --serve    then keep running like a server until SIGTERM (exit 0)
 *   demo-app NAME --exit N   then exit N, like a Job's batch step
 *
 * Static (musl-gcc -static), so it runs in a FROM scratch image. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void on_term(int sig) {
    (void)sig;
    _exit(0);
}

/* The HTTP status of one GET, or a word for why there was none. */
static void first_call(char *out, size_t len, const char *name) {
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(15020)};
    inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
        snprintf(out, len, "refused");
        return;
    }
    char req[256];
    int n = snprintf(req, sizeof req,
                     "GET /healthz/ready HTTP/1.1\r\nHost: localhost\r\n"
                     "User-Agent: demo-app/%s\r\nConnection: close\r\n\r\n", name);
    char reply[64] = {0};
    if (write(fd, req, (size_t)n) != n || read(fd, reply, sizeof reply - 1) < 12) {
        snprintf(out, len, "no answer");
    } else {
        snprintf(out, len, "%.3s", reply + 9); /* "HTTP/1.1 200 OK" */
    }
    close(fd);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fputs("usage: demo-app NAME [--serve | --exit N]\n", stderr);
        return 2;
    }
    signal(SIGTERM, on_term);
    char status[32];
    first_call(status, sizeof status, argv[1]);
    printf("%s: started; its first call through the sidecar got %s\n", argv[1], status);
    fflush(stdout);
    if (argc > 2 && strcmp(argv[2], "--serve") == 0) {
        for (;;)
            pause();
    }
    if (argc > 3 && strcmp(argv[2], "--exit") == 0)
        return atoi(argv[3]);
    return 0;
}
