#pragma once
// Where a process stands in a data-parallel job, the way torch.distributed's env://
// rendezvous and torchrun describe it: from the command line (--rank, --world-size,
// --master-addr, --master-port) or else the standard environment variables (RANK,
// WORLD_SIZE, MASTER_ADDR, MASTER_PORT, LOCAL_RANK, LOCAL_WORLD_SIZE). A world of one
// is the ordinary single process: no store, no process group.

#include "app/cli/CliArgs.h"

#include "model/distributed/GlooCollective.h"

#include <memory>
#include <string>
#include <vector>

namespace prisma::cli {

struct DistributedArgs {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;
  int local_world_size = 1;  // processes of this job on this machine
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;   // torch.distributed's default
  double timeout_s = 300.0;  // store waits and every collective

  bool distributed() const { return world_size > 1; }

  // Flags first, then the environment; throws UsageError on values that make no sense.
  static DistributedArgs from(const CliArgs& args);

  // LibTorch threads for a worker: OMP_NUM_THREADS when set, else this machine's cores
  // shared among its local processes; 0 (the usual default) for a single process.
  int threads() const;

  // Joins the process group (rendezvous through rank 0's TCPStore); nullptr for a world
  // of one. Throws prisma::Error when the others do not show up within the timeout.
  std::unique_ptr<distributed::GlooCollective> join() const;
};

// The options the commands that run data-parallel accept, for CliArgs' valued list.
const std::vector<std::string>& distributedOptionNames();

constexpr const char* kDistributedUsage =
    "[--nproc N | --rank R --world-size W --master-addr HOST --master-port P] [--timeout-s S]";

}  // namespace prisma::cli
