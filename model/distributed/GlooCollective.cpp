// c10d's TCPStore + ProcessGroupGloo behind the trainer's Collective interface. c10d
// reports failures as c10::Error / std::runtime_error with long backtraces; they come out
// here as prisma::Error with the operation, the rank and c10d's first line.

#include "model/distributed/GlooCollective.h"

#include "model/Error.h"

#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <ATen/ATen.h>
#include <c10/util/Exception.h>

#include <cstdlib>
#include <limits>

namespace prisma::distributed {
namespace {

// torch.distributed's own prefix for the default group's keys, so a store shared with
// other tools stays tidy.
constexpr const char* kStorePrefix = "prisma/default_pg/";
constexpr const char* kSocketInterfaceVar = "GLOO_SOCKET_IFNAME";  // as torch.distributed reads it

std::string firstLine(const std::string& s) {
  const auto nl = s.find('\n');
  return nl == std::string::npos ? s : s.substr(0, nl);
}

std::string describe(const std::exception& e) {
  if (const auto* c = dynamic_cast<const c10::Error*>(&e)) return firstLine(c->what_without_backtrace());
  return firstLine(e.what());
}

bool isLoopback(const std::string& host) {
  return host == "localhost" || host.rfind("127.", 0) == 0 || host == "::1";
}

}  // namespace

struct GlooCollective::Impl {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> group;
};

GlooCollective::GlooCollective(const DistributedConfig& config) : config_(config), impl_(std::make_unique<Impl>()) {
  const std::string where = config.master_addr + ":" + std::to_string(config.master_port);
  if (config.world_size < 1) throw Error("", "world_size", "must be at least 1");
  if (config.rank < 0 || config.rank >= config.world_size)
    throw Error("", "rank", std::to_string(config.rank) + " outside [0, " + std::to_string(config.world_size) + ")");
  if (config.master_port <= 0 || config.master_port > std::numeric_limits<uint16_t>::max())
    throw Error("", "master_port", std::to_string(config.master_port) + " is not a TCP port");
  try {
    c10d::TCPStoreOptions so;
    so.port = static_cast<uint16_t>(config.master_port);
    so.isServer = config.rank == 0;
    so.numWorkers = static_cast<size_t>(config.world_size);
    so.waitWorkers = true;
    so.timeout = config.timeout;
    auto tcp = c10::make_intrusive<c10d::TCPStore>(config.master_addr, so);
    impl_->store = c10::make_intrusive<c10d::PrefixStore>(kStorePrefix, tcp);
  } catch (const std::exception& e) {
    throw Error(where, "master", "rank " + std::to_string(config.rank) + " could not join the store: " + describe(e));
  }
  try {
    auto options = c10d::ProcessGroupGloo::Options::create(config.timeout);
    // The interface the peers reach this rank on: loopback for a local group, the one
    // GLOO_SOCKET_IFNAME names, or the address this host's name resolves to.
    const char* ifname = std::getenv(kSocketInterfaceVar);
    if (ifname && *ifname) options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(ifname));
    else if (isLoopback(config.master_addr))
      options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(config.master_addr));
    else options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
    options->threads = 1;  // one collective in flight at a time here
    impl_->group = c10::make_intrusive<c10d::ProcessGroupGloo>(impl_->store, config.rank, config.world_size, options);
  } catch (const std::exception& e) {
    throw Error(where, "process_group",
                "rank " + std::to_string(config.rank) + " could not connect to the other ranks: " + describe(e));
  }
}

GlooCollective::~GlooCollective() = default;

namespace {

void waitFor(const c10::intrusive_ptr<c10d::Work>& work, const char* op, int rank) {
  try {
    work->wait();
  } catch (const std::exception& e) {
    throw Error("", op, "rank " + std::to_string(rank) + ": a collective failed (another rank failed, stopped or "
                        "timed out): " + describe(e));
  }
}

}  // namespace

std::vector<std::pair<size_t, size_t>> bucketRanges(const std::vector<torch::Tensor>& tensors, int64_t maxBytes) {
  std::vector<std::pair<size_t, size_t>> out;
  size_t begin = 0;
  int64_t bytes = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const int64_t b = tensors[i].numel() * static_cast<int64_t>(tensors[i].element_size());
    if (i > begin && bytes + b > maxBytes) {
      out.emplace_back(begin, i);
      begin = i;
      bytes = 0;
    }
    bytes += b;
  }
  if (begin < tensors.size()) out.emplace_back(begin, tensors.size());
  return out;
}

void GlooCollective::allReduceSum(std::vector<torch::Tensor>& tensors) {
  if (tensors.empty()) return;
  for (const auto& t : tensors)
    if (t.scalar_type() != tensors[0].scalar_type())
      throw Error("", "allreduce", "tensors of one all-reduce must share a dtype");
  // Every bucket is flattened and sent before the first is waited for, so Gloo's
  // transfers overlap the copies of the next bucket.
  struct Bucket {
    size_t begin, end;
    std::vector<at::Tensor> flat;
    c10::intrusive_ptr<c10d::Work> work;
  };
  std::vector<Bucket> buckets;
  try {
    for (const auto& [begin, end] : bucketRanges(tensors, kBucketBytes)) {
      std::vector<at::Tensor> parts;
      for (size_t i = begin; i < end; ++i) parts.push_back(tensors[i].reshape({-1}));
      Bucket b{begin, end, {at::cat(parts)}, {}};
      b.work = impl_->group->allreduce(b.flat);
      buckets.push_back(std::move(b));
    }
  } catch (const std::exception& e) {
    throw Error("", "allreduce", "rank " + std::to_string(config_.rank) + ": " + describe(e));
  }
  for (auto& b : buckets) {
    waitFor(b.work, "allreduce", config_.rank);
    int64_t offset = 0;
    for (size_t i = b.begin; i < b.end; ++i) {
      auto& t = tensors[i];
      const int64_t n = t.numel();
      t.copy_(b.flat[0].narrow(0, offset, n).view(t.sizes()));
      offset += n;
    }
  }
}

void GlooCollective::broadcast(std::vector<torch::Tensor>& tensors, int root) {
  if (tensors.empty()) return;
  std::vector<at::Tensor> flat;
  {
    std::vector<at::Tensor> parts;
    for (const auto& t : tensors) parts.push_back(t.detach().reshape({-1}).to(tensors[0].scalar_type()));
    flat.push_back(at::cat(parts));
  }
  c10d::BroadcastOptions o;
  o.rootRank = root;
  c10::intrusive_ptr<c10d::Work> work;
  try {
    work = impl_->group->broadcast(flat, o);
  } catch (const std::exception& e) {
    throw Error("", "broadcast", "rank " + std::to_string(config_.rank) + ": " + describe(e));
  }
  waitFor(work, "broadcast", config_.rank);
  int64_t offset = 0;
  at::NoGradGuard no_grad;
  for (auto& t : tensors) {
    const int64_t n = t.numel();
    t.detach().copy_(flat[0].narrow(0, offset, n).view(t.sizes()));
    offset += n;
  }
}

std::vector<torch::Tensor> GlooCollective::gather(const torch::Tensor& local, int root) {
  std::vector<at::Tensor> input{local.contiguous()};
  std::vector<std::vector<at::Tensor>> output;
  if (config_.rank == root) {
    output.emplace_back();
    for (int r = 0; r < config_.world_size; ++r) output[0].push_back(at::empty_like(input[0]));
  }
  c10d::GatherOptions o;
  o.rootRank = root;
  c10::intrusive_ptr<c10d::Work> work;
  try {
    work = impl_->group->gather(output, input, o);
  } catch (const std::exception& e) {
    throw Error("", "gather", "rank " + std::to_string(config_.rank) + ": " + describe(e));
  }
  waitFor(work, "gather", config_.rank);
  return output.empty() ? std::vector<torch::Tensor>{} : output[0];
}

void GlooCollective::barrier() {
  c10::intrusive_ptr<c10d::Work> work;
  try {
    work = impl_->group->barrier();
  } catch (const std::exception& e) {
    throw Error("", "barrier", "rank " + std::to_string(config_.rank) + ": " + describe(e));
  }
  waitFor(work, "barrier", config_.rank);
}

}  // namespace prisma::distributed
