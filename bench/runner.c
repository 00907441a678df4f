/* runner: fork+exec one contender, report wall time, wait4 rusage, VmHWM; kill its process group at a deadline. */
/*
 * Usage: runner OUTFILE DEADLINE_MS STDERR_FILE -- COMMAND [ARGS...]
 * Writes one line to OUTFILE:
 *   t0_ns t1_ns status killed utime_us stime_us maxrss_kib vmhwm_kib
 * t0 is CLOCK_MONOTONIC just before fork, t1 just after wait4 returned. status is the raw wait status.
 * killed=1 if the deadline expired and the process group got SIGKILL. vmhwm_kib is the leader's VmHWM read
 * from /proc just before the kill (-1 if it exited on its own).
 * Why a C helper instead of Python's subprocess: a child vforked from Python records Python's RSS high-water
 * mark into ru_maxrss at exec time; forking from this tiny static program keeps ru_maxrss honest, and the
 * fork/exec/wait timing is free of interpreter noise.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void on_alarm(int sig) { (void)sig; }

static long vmhwm_kib(pid_t pid) {
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    long v = -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "VmHWM:", 6) == 0) { v = strtol(line + 6, NULL, 10); break; }
    fclose(f);
    return v;
}

int main(int argc, char **argv) {
    if (argc < 6 || strcmp(argv[4], "--") != 0) {
        fprintf(stderr, "usage: runner OUTFILE DEADLINE_MS STDERR_FILE -- COMMAND [ARGS...]\n");
        return 2;
    }
    const char *out = argv[1];
    long deadline_ms = strtol(argv[2], NULL, 10);
    const char *errfile = argv[3];
    char **cmd = argv + 5;

    /* No SA_RESTART: the alarm must interrupt wait4. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sigaction(SIGALRM, &sa, NULL);

    long long t0 = now_ns();
    pid_t pid = fork();
    if (pid < 0) { perror("runner: fork"); return 71; }
    if (pid == 0) {
        setpgid(0, 0); /* own group, so the deadline kill reaches curl/sleep children too */
        int fd = open(errfile, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) { dup2(fd, 2); close(fd); }
        int nul = open("/dev/null", O_RDWR);
        if (nul >= 0) { dup2(nul, 0); dup2(nul, 1); close(nul); }
        execvp(cmd[0], cmd);
        perror("runner: exec");
        _exit(127);
    }
    setpgid(pid, pid); /* also from the parent: no race with the kill below */

    struct itimerval it;
    memset(&it, 0, sizeof it);
    it.it_value.tv_sec = deadline_ms / 1000;
    it.it_value.tv_usec = (deadline_ms % 1000) * 1000;
    setitimer(ITIMER_REAL, &it, NULL);

    int status = 0, killed = 0;
    long hwm = -1;
    struct rusage ru;
    pid_t r;
    for (;;) {
        r = wait4(pid, &status, 0, &ru);
        if (r == pid) break;
        if (r < 0 && errno == EINTR && !killed) {
            hwm = vmhwm_kib(pid);
            kill(-pid, SIGKILL);
            killed = 1;
            continue;
        }
        if (r < 0 && errno == EINTR) continue;
        perror("runner: wait4");
        return 71;
    }
    long long t1 = now_ns();
    memset(&it, 0, sizeof it);
    setitimer(ITIMER_REAL, &it, NULL);
    if (killed) kill(-pid, SIGKILL); /* stragglers (a curl orphaned by sh's death) */

    FILE *f = fopen(out, "w");
    if (!f) { perror("runner: output"); return 71; }
    fprintf(f, "%lld %lld %d %d %ld %ld %ld %ld\n", t0, t1, status, killed,
            (long)(ru.ru_utime.tv_sec * 1000000L + ru.ru_utime.tv_usec),
            (long)(ru.ru_stime.tv_sec * 1000000L + ru.ru_stime.tv_usec), ru.ru_maxrss, hwm);
    fclose(f);
    return 0;
}
