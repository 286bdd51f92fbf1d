/*
 * The process sandbox's job launcher, compiled (scripts/build.mjs builds dist/job-launcher where a C compiler is
 * present; job-launcher.ts runs the Perl one otherwise). Same protocol and same job start as the Perl launcher in
 * job-launcher.ts, whose comment explains both. Compiled, the launcher forks with vfork (nothing of it is copied) and
 * its child runs no interpreter: copy-on-write faults and TLB flushes were most of the Perl launcher's cost per job.
 *
 * SIGCHLD is blocked and read from a signalfd, so an exit can never slip in between the check and the wait.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

struct job {
  pid_t pid;
  char *id;
  char *procs;
  struct job *next;
};

static struct job *jobs;

/* Writes all of s (system calls only: the vfork child uses it too); -1 when the fd takes no more. */
static int write_all(int fd, const char *s, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, s, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    s += w;
    n -= (size_t)w;
  }
  return 0;
}

/* A line to the worker; when the worker no longer reads, the launcher ends. */
static void say(const char *s, size_t n) {
  if (write_all(STDOUT_FILENO, s, n) < 0) _exit(1);
}

static void sayf(const char *fmt, const char *id, long value) {
  char line[256];
  int n = snprintf(line, sizeof line, fmt, id, value);
  if (n > 0 && (size_t)n < sizeof line) say(line, (size_t)n);
}

static void fail(const char *id, const char *message) {
  static const char digits[] = "0123456789abcdef";
  size_t len = strlen(message);
  size_t idlen = strlen(id);
  char *line = malloc(idlen + 2 * len + 8);
  if (!line) _exit(1);
  char *p = line;
  memcpy(p, "fail ", 5), p += 5;
  memcpy(p, id, idlen), p += idlen;
  *p++ = ' ';
  for (size_t i = 0; i < len; i++) {
    *p++ = digits[(unsigned char)message[i] >> 4];
    *p++ = digits[(unsigned char)message[i] & 15];
  }
  *p++ = '\n';
  say(line, (size_t)(p - line));
  free(line);
}

static int nibble(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* A field "x" + hex, decoded in place; its length in *len. NULL when malformed. */
static char *unhex(char *field, size_t *len) {
  if (field[0] != 'x') return NULL;
  size_t n = strlen(field + 1);
  if (n % 2) return NULL;
  char *out = field;
  for (size_t i = 0; i < n; i += 2) {
    int hi = nibble(field[1 + i]), lo = nibble(field[2 + i]);
    if (hi < 0 || lo < 0) return NULL;
    out[i / 2] = (char)(hi << 4 | lo);
  }
  out[n / 2] = 0;
  *len = n / 2;
  return out;
}

static void put(int fd, const char *s) {
  (void)write_all(fd, s, strlen(s));
}

/*
 * An error's text without what strerror may do for a translation (look up the locale, allocate): in a vfork child
 * nothing may touch the launcher's heap. glibc's strerrordesc_np (2.32+) reads a fixed table, as musl's strerror
 * does; an older glibc's strerror, in the launcher's LC_ALL=C, translates nothing.
 */
static const char *error_text(int e) {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 32)
  const char *text = strerrordesc_np(e);
  return text ? text : "unknown error";
#else
  return strerror(e);
#endif
}

/*
 * The job's first process (see the Perl launcher's child()), a vfork child: it shares the launcher's memory until its
 * exec, so it only makes system calls and writes to its own stack. Never returns.
 */
__attribute__((noreturn)) static void child(const char *procs, const char *dir, const char *fifo, const char *path, char **envp) {
  char err[512] = "";
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  setsid();
  if (procs[0]) {
    int fd = open(procs, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
      snprintf(err, sizeof err, "cannot open %s: %s\n", procs, error_text(errno));
    else {
      char pid[24];
      int n = snprintf(pid, sizeof pid, "%d\n", (int)getpid());
      if (write(fd, pid, (size_t)n) != n) snprintf(err, sizeof err, "cannot join %s: %s\n", procs, error_text(errno));
      close(fd);
    }
  }
  int in = open("/dev/null", O_RDONLY);
  if (in < 0 || dup2(in, STDIN_FILENO) < 0) _exit(125);
  if (in != STDIN_FILENO) close(in);
  /* The worker opened the reading end before it asked for the job: no wait here, and none forever if it is gone. */
  int out = open(fifo, O_WRONLY | O_NONBLOCK);
  if (out < 0 || fcntl(out, F_SETFL, 0) < 0) _exit(125);
  if (dup2(out, STDOUT_FILENO) < 0 || dup2(out, STDERR_FILENO) < 0) _exit(125);
  if (out > STDERR_FILENO) close(out);
  if (err[0]) {
    put(STDERR_FILENO, err);
    _exit(125);
  }
  if (chdir(dir) < 0) {
    snprintf(err, sizeof err, "cannot enter %s: %s\n", dir, error_text(errno));
    put(STDERR_FILENO, err);
    _exit(125);
  }
  char *argv[] = {(char *)path, NULL};
  execve(path, argv, envp);
  if (errno == ENOEXEC) {
    char *shv[] = {"/bin/sh", (char *)path, NULL};
    execve("/bin/sh", shv, envp);
  }
  int enoent = errno == ENOENT;
  snprintf(err, sizeof err, "/bin/sh: 1: exec: %s: %s\n", path, enoent ? "not found" : error_text(errno));
  put(STDERR_FILENO, err);
  _exit(enoent ? 127 : 126);
}

/* The environment: NAME=VALUE entries separated by NUL, with PWD set to the job's directory unless given. */
static char **environment(char *env, size_t len, const char *dir) {
  size_t count = 3; /* the last entry (no NUL after it), PWD, the terminating NULL */
  for (size_t i = 0; i < len; i++)
    if (env[i] == 0) count++;
  char **envp = calloc(count, sizeof *envp);
  if (!envp) return NULL;
  size_t k = 0;
  int has_pwd = 0;
  for (size_t i = 0; i < len;) {
    char *entry = env + i;
    size_t n = strlen(entry);
    if (n > 0 && strchr(entry, '=')) {
      if (strncmp(entry, "PWD=", 4) == 0) has_pwd = 1;
      envp[k++] = entry;
    }
    i += n + 1;
  }
  if (!has_pwd) {
    char *pwd = malloc(strlen(dir) + 5);
    if (!pwd) return NULL;
    strcpy(pwd, "PWD="), strcat(pwd, dir);
    envp[k++] = pwd;
  }
  envp[k] = NULL;
  return envp;
}

/* vfork alone in its frame: the child's writes to the stack never reach the frame of run(), which goes on after it. */
__attribute__((noinline)) static pid_t spawn_job(const char *procs, const char *dir, const char *fifo, const char *path, char **envp) {
  pid_t pid = vfork();
  if (pid == 0) child(procs, dir, fifo, path, envp);
  return pid;
}

/* `fifo ID PATH`: the console of a job to come, made ahead (the worker opens its reading end before `run`). */
static void make_fifo(const char *id, char *field) {
  size_t len;
  char *fifo = unhex(field, &len);
  if (!fifo) return fail(id, "malformed fifo command");
  if (mkfifo(fifo, 0600) < 0) {
    char message[600];
    snprintf(message, sizeof message, "cannot make %s: %s", fifo, strerror(errno));
    return fail(id, message);
  }
  sayf("fifo %s\n", id, 0);
}

/* `run ID PROCS DIR FIFO SCRIPT ENV`: the job's first process, forked with vfork (nothing of the launcher is copied). */
static void run(const char *id, char **fields) {
  size_t lens[5];
  char *procs = unhex(fields[0], &lens[0]), *dir = unhex(fields[1], &lens[1]), *fifo = unhex(fields[2], &lens[2]);
  char *script = unhex(fields[3], &lens[3]), *env = unhex(fields[4], &lens[4]);
  if (!procs || !dir || !fifo || !script || !env) return fail(id, "malformed run command");
  char **envp = environment(env, lens[4], dir);
  struct job *job = malloc(sizeof *job);
  char *path = malloc(lens[3] + 3);
  if (!envp || !job || !path || !(job->id = strdup(id)) || !(job->procs = strdup(procs))) _exit(1);
  memcpy(path, "./", 2);
  memcpy(path + 2, script, lens[3] + 1);
  pid_t pid = spawn_job(procs, dir, fifo, path, envp);
  /* the child has exec'd or exited: the console's name is no longer needed */
  unlink(fifo);
  if (pid < 0) {
    char message[128];
    snprintf(message, sizeof message, "cannot fork: %s", strerror(errno));
    fail(id, message);
    free(job->id), free(job->procs), free(job);
  } else {
    job->pid = pid;
    job->next = jobs;
    jobs = job;
    sayf("pid %s %ld\n", id, pid);
  }
  free(path);
  for (char **e = envp; *e; e++)
    if (*e < env || *e >= env + lens[4]) free(*e);
  free(envp);
}

static void command(char *line) {
  char *fields[7];
  int count = 0;
  for (char *save = NULL, *f = strtok_r(line, " ", &save); f; f = strtok_r(NULL, " ", &save)) {
    if (count == 7) return;
    fields[count++] = f;
  }
  if (count == 3 && strcmp(fields[0], "fifo") == 0) make_fifo(fields[1], fields[2]);
  else if (count == 7 && strcmp(fields[0], "run") == 0) run(fields[1], fields + 2);
}

static void reap(void) {
  int status;
  pid_t pid;
  while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
    for (struct job **p = &jobs; *p; p = &(*p)->next) {
      struct job *job = *p;
      if (job->pid != pid) continue;
      *p = job->next;
      sayf("end %s %ld\n", job->id, status);
      free(job->id), free(job->procs), free(job);
      break;
    }
  }
}

/* The worker is gone: every job's group, its first process and its whole cgroup are killed. */
static void kill_all(void) {
  for (struct job *job = jobs; job; job = job->next) {
    kill(-job->pid, SIGKILL);
    kill(job->pid, SIGKILL);
    size_t n = strlen(job->procs);
    const char *suffix = "cgroup.procs";
    size_t s = strlen(suffix);
    if (n < s || strcmp(job->procs + n - s, suffix) != 0) continue;
    char *path = malloc(n + 1);
    if (!path) continue;
    memcpy(path, job->procs, n - s);
    strcpy(path + n - s, "cgroup.kill");
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd >= 0) {
      put(fd, "1");
      close(fd);
    }
    free(path);
  }
}

/* The worker is gone: the consoles' directory it made for this launcher (its argument) goes too, consoles and all. */
static void remove_dir(const char *dir) {
  if (!dir) return;
  DIR *d = opendir(dir);
  if (d) {
    for (struct dirent *e; (e = readdir(d));)
      if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) unlinkat(dirfd(d), e->d_name, 0);
    closedir(d);
  }
  rmdir(dir);
}

int main(int argc, char **argv) {
  const char *dir = argc > 1 ? argv[1] : NULL;
  /* SIGPIPE blocked, not ignored (an ignored one would stay so in the jobs, across exec; the child clears the mask):
   * a write to a gone worker fails with EPIPE, and its end is seen as EOF on stdin. */
  sigset_t blocked, child_mask;
  sigemptyset(&child_mask);
  sigaddset(&child_mask, SIGCHLD);
  blocked = child_mask;
  sigaddset(&blocked, SIGPIPE);
  sigprocmask(SIG_BLOCK, &blocked, NULL);
  int sfd = signalfd(-1, &child_mask, SFD_NONBLOCK | SFD_CLOEXEC);
  if (sfd < 0) return 1;
  size_t cap = 65536, used = 0;
  char *buf = malloc(cap);
  if (!buf) return 1;
  say("ready\n", 6);
  for (;;) {
    struct pollfd fds[2] = {{.fd = STDIN_FILENO, .events = POLLIN}, {.fd = sfd, .events = POLLIN}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return 1;
    }
    if (fds[1].revents) {
      struct signalfd_siginfo info;
      while (read(sfd, &info, sizeof info) > 0) {
      }
      reap();
    }
    if (!fds[0].revents) continue;
    if (used == cap) {
      char *bigger = realloc(buf, cap * 2);
      if (!bigger) return 1;
      buf = bigger, cap *= 2;
    }
    ssize_t r = read(STDIN_FILENO, buf + used, cap - used);
    if (r < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      r = 0;
    }
    if (r == 0) {
      kill_all();
      remove_dir(dir);
      return 0;
    }
    used += (size_t)r;
    char *start = buf, *nl;
    while ((nl = memchr(start, '\n', used - (size_t)(start - buf)))) {
      *nl = 0;
      command(start);
      start = nl + 1;
    }
    used -= (size_t)(start - buf);
    memmove(buf, start, used);
  }
}
