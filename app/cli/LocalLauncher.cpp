#include "app/cli/LocalLauncher.h"

#include "model/Error.h"
#include "model/runtime/Runtime.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <thread>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace prisma::cli {
namespace {

constexpr const char* kLoopback = "127.0.0.1";
constexpr auto kPoll = std::chrono::milliseconds(50);
// Workers get this long after SIGTERM to write their error and exit before SIGKILL.
constexpr auto kGracePeriod = std::chrono::seconds(5);
constexpr int kMaxLocalProcesses = 256;

// Set by the SIGTERM handler; the wait loop forwards it to the workers.
volatile std::sig_atomic_t gTerminate = 0;
void onTerminate(int) { gTerminate = 1; }

std::string selfExecutable() {
  char buf[4096];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) throw Error("/proc/self/exe", "", "cannot find this executable to start the workers");
  return std::string(buf, static_cast<size_t>(n));
}

// The worker's arguments: the launcher's without --nproc N / --nproc=N.
std::vector<std::string> workerArgs(const std::vector<std::string>& args) {
  std::vector<std::string> out;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--nproc") {
      ++i;
      continue;
    }
    if (args[i].rfind("--nproc=", 0) == 0) continue;
    out.push_back(args[i]);
  }
  return out;
}

std::string describeStatus(int status) {
  if (WIFEXITED(status)) return "exited with code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("was killed by signal ") + ::strsignal(WTERMSIG(status));
  return "stopped";
}

}  // namespace

int freeLocalPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw Error("", "master_port", std::string("socket(): ") + std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = 0;
  ::inet_pton(AF_INET, kLoopback, &addr.sin_addr);
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    const std::string why = std::strerror(errno);
    ::close(fd);
    throw Error("", "master_port", "no free port on 127.0.0.1: " + why);
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

std::optional<int> launchLocalWorkersIfRequested(const std::string& command, const CliArgs& parsed,
                                                 const std::vector<std::string>& args,
                                                 const std::vector<std::string>& extraArgs) {
  if (!parsed.has("nproc")) return std::nullopt;
  const int n = parsed.intValue("nproc", 1, {1, kMaxLocalProcesses});
  if (n < 1 || n > kMaxLocalProcesses)
    throw UsageError("--nproc needs a count in [1, " + std::to_string(kMaxLocalProcesses) + "]");
  if (parsed.has("rank") || parsed.has("world-size") || parsed.has("master-addr"))
    throw UsageError("--nproc starts its own ranks on this machine: drop --rank/--world-size/--master-addr");
  const int port = parsed.has("master-port") ? parsed.intValue("master-port", 0, {1, 65535}) : freeLocalPort();
  const std::string exe = selfExecutable();
  std::vector<std::string> argv{"prisma", command};
  for (const auto& s : workerArgs(args)) argv.push_back(s);
  for (const auto& s : extraArgs) argv.push_back(s);
  // Without a user's choice, the machine's cores are shared among the workers (LibTorch
  // and OpenBLAS both read these variables), as torchrun does.
  const std::string share = std::to_string(std::max(1, runtime::availableCores() / n));

  auto previous = std::signal(SIGTERM, onTerminate);
  gTerminate = 0;
  std::vector<pid_t> pids(static_cast<size_t>(n), -1);
  for (int r = 0; r < n; ++r) {
    std::vector<std::string> env;
    for (char** e = environ; *e; ++e) {
      const std::string kv = *e;
      const std::string key = kv.substr(0, kv.find('='));
      if (key == "RANK" || key == "LOCAL_RANK" || key == "WORLD_SIZE" || key == "LOCAL_WORLD_SIZE" ||
          key == "MASTER_ADDR" || key == "MASTER_PORT")
        continue;
      env.push_back(kv);
    }
    env.push_back("RANK=" + std::to_string(r));
    env.push_back("LOCAL_RANK=" + std::to_string(r));
    env.push_back("WORLD_SIZE=" + std::to_string(n));
    env.push_back("LOCAL_WORLD_SIZE=" + std::to_string(n));
    env.push_back(std::string("MASTER_ADDR=") + kLoopback);
    env.push_back("MASTER_PORT=" + std::to_string(port));
    for (const char* var : {"OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"})
      if (!std::getenv(var)) env.push_back(std::string(var) + "=" + share);
    std::vector<char*> cargv, cenv;
    for (auto& s : argv) cargv.push_back(s.data());
    cargv.push_back(nullptr);
    for (auto& s : env) cenv.push_back(s.data());
    cenv.push_back(nullptr);
    const pid_t pid = ::fork();
    if (pid == 0) {
      std::signal(SIGTERM, SIG_DFL);
      ::execve(exe.c_str(), cargv.data(), cenv.data());
      ::_exit(127);
    }
    if (pid < 0) {
      for (pid_t p : pids)
        if (p > 0) ::kill(p, SIGKILL);
      for (pid_t p : pids)
        if (p > 0) ::waitpid(p, nullptr, 0);
      std::signal(SIGTERM, previous);
      throw Error("", "nproc", std::string("cannot start worker: ") + std::strerror(errno));
    }
    pids[static_cast<size_t>(r)] = pid;
  }
  std::cerr << "prisma " << command << ": " << n << " worker processes on 127.0.0.1:" << port << "\n";

  const std::vector<pid_t> started = pids;
  auto failedPid = [&](int rank) { return started[static_cast<size_t>(rank)]; };
  int running = n, failedRank = -1, failedStatus = 0;
  bool terminating = false;
  std::chrono::steady_clock::time_point killAt{};
  auto terminateOthers = [&]() {
    terminating = true;
    killAt = std::chrono::steady_clock::now() + kGracePeriod;
    for (pid_t p : pids)
      if (p > 0) ::kill(p, SIGTERM);
  };
  while (running > 0) {
    // Reap everything that ended since the last look, so that of a worker killed by a
    // signal and the peers that failed because of it, the cause is the one reported.
    int newRank = -1, newStatus = 0;
    pid_t pid = 0;
    int status = 0;
    while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0) {
      const auto it = std::find(pids.begin(), pids.end(), pid);
      if (it == pids.end()) continue;
      const int rank = static_cast<int>(it - pids.begin());
      *it = -1;
      --running;
      const bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
      if (!ok && (newRank < 0 || (WIFSIGNALED(status) && !WIFSIGNALED(newStatus)))) {
        newRank = rank;
        newStatus = status;
      }
    }
    if (pid < 0 && errno != EINTR && errno != ECHILD) break;
    if (newRank >= 0 && failedRank < 0 && !terminating) {
      failedRank = newRank;
      failedStatus = newStatus;
      std::cerr << "prisma " << command << ": rank " << newRank << " (pid " << failedPid(newRank) << ") "
                << describeStatus(newStatus) << "; stopping the other ranks\n";
      terminateOthers();
    }
    if (running == 0) break;
    if (gTerminate && !terminating) terminateOthers();
    if (terminating && std::chrono::steady_clock::now() >= killAt) {
      for (pid_t p : pids)
        if (p > 0) ::kill(p, SIGKILL);
      killAt = std::chrono::steady_clock::time_point::max();
    }
    std::this_thread::sleep_for(kPoll);
  }
  std::signal(SIGTERM, previous);
  if (failedRank >= 0) {
    std::cerr << "prisma " << command << ": failed: rank " << failedRank << " " << describeStatus(failedStatus)
              << "\n";
    return WIFEXITED(failedStatus) && WEXITSTATUS(failedStatus) != 0 ? WEXITSTATUS(failedStatus) : 1;
  }
  if (gTerminate) return 1;
  return 0;
}

}  // namespace prisma::cli
