#pragma once
// A process group of `world_size` processes on PyTorch's own distributed layer (c10d, as
// shipped in Debian's LibTorch): rank 0 hosts a c10d::TCPStore at master_addr:master_port,
// every rank connects to it, and the ranks exchange tensors through
// c10d::ProcessGroupGloo (TCP). The same set-up as torch.distributed's
// init_process_group("gloo", init_method="env://"), so processes started by torchrun-like
// launchers or cluster schedulers (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT) join it.
//
// Failure handling: the store and every collective wait at most `timeout`; a rank that
// dies closes its sockets, so the others usually fail at once, and at the latest when the
// timeout expires. Either way they throw prisma::Error naming the operation.

#include "model/train/Collective.h"

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace prisma::distributed {

struct DistributedConfig {
  int rank = 0;
  int world_size = 1;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;  // torch.distributed's default
  std::chrono::milliseconds timeout{std::chrono::minutes(5)};
};

class GlooCollective final : public train::Collective {
public:
  // Rendezvous: blocks until all world_size ranks have joined, or throws prisma::Error
  // after the timeout.
  explicit GlooCollective(const DistributedConfig& config);
  ~GlooCollective() override;
  GlooCollective(const GlooCollective&) = delete;
  GlooCollective& operator=(const GlooCollective&) = delete;

  int rank() const override { return config_.rank; }
  int worldSize() const override { return config_.world_size; }
  void allReduceSum(std::vector<torch::Tensor>& tensors) override;
  void broadcast(std::vector<torch::Tensor>& tensors, int root = 0) override;
  // Every rank's `local` (same shape and dtype everywhere), in rank order, on `root`;
  // an empty vector elsewhere.
  std::vector<torch::Tensor> gather(const torch::Tensor& local, int root = 0);
  void barrier();

  const DistributedConfig& config() const { return config_; }

private:
  struct Impl;
  DistributedConfig config_;
  std::unique_ptr<Impl> impl_;
};

// Buckets of at most this many bytes carry the all-reduced tensors: few calls (latency),
// yet bounded extra memory for the flattened copies. PyTorch's DDP uses 25 MiB.
constexpr int64_t kBucketBytes = int64_t(25) << 20;

// Groups consecutive tensors into buckets of at most `maxBytes` (a larger tensor gets a
// bucket of its own); returns the index ranges [begin, end). Same dtype assumed.
std::vector<std::pair<size_t, size_t>> bucketRanges(const std::vector<torch::Tensor>& tensors, int64_t maxBytes);

}  // namespace prisma::distributed
