/*
 * pause: the process that holds a pod's namespaces, for the local cluster's
 * registry.k8s.io/pause:3.10.2 image (hack/cluster.sh builds it with
 * gcc -static). It sleeps in pause() forever, reaps the zombies it inherits
 * as PID 1 of a shared process namespace, and exits on SIGTERM or SIGINT.
 */
#include <signal.h>
#include <stddef.h>
#include <sys/wait.h>
#include <unistd.h>

static void on_stop(int sig) {
  (void)sig;
  _exit(0);
}

static void on_child(int sig) {
  (void)sig;
  while (waitpid(-1, NULL, WNOHANG) > 0) {
  }
}

int main(void) {
  struct sigaction stop = {0};
  struct sigaction child = {0};

  stop.sa_handler = on_stop;
  child.sa_handler = on_child;
  child.sa_flags = SA_NOCLDSTOP;
  if (sigaction(SIGTERM, &stop, NULL) < 0 || sigaction(SIGINT, &stop, NULL) < 0 ||
      sigaction(SIGCHLD, &child, NULL) < 0) {
    return 1;
  }
  for (;;) {
    pause();
  }
}
