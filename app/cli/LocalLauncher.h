#pragma once
// `--nproc N`: this process becomes a launcher, as torchrun's standalone mode is. It picks
// a free port on 127.0.0.1, starts N copies of this executable with the same command and
// arguments (without --nproc) and RANK / LOCAL_RANK / WORLD_SIZE / LOCAL_WORLD_SIZE /
// MASTER_ADDR / MASTER_PORT set, and waits. The first worker that fails (a non-zero exit
// or a signal) ends the others (SIGTERM, then SIGKILL after a grace period) and the
// launcher exits non-zero naming it. Ctrl-C reaches the workers directly (same process
// group) and is theirs to handle; SIGTERM to the launcher is forwarded to them.

#include "app/cli/CliArgs.h"

#include <optional>
#include <string>
#include <vector>

namespace prisma::cli {

// When `args` ask for --nproc N (N >= 1), runs the workers and returns the exit code;
// otherwise std::nullopt and the caller is a worker or a single process. `extraArgs` are
// appended to every worker's arguments (e.g. a run folder the launcher chose).
std::optional<int> launchLocalWorkersIfRequested(const std::string& command, const CliArgs& parsed,
                                                 const std::vector<std::string>& args,
                                                 const std::vector<std::string>& extraArgs = {});

// A TCP port on 127.0.0.1 that nothing listens on right now (the kernel's choice).
int freeLocalPort();

}  // namespace prisma::cli
