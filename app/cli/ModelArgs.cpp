// Shared options and the output check of `prisma convert` / `prisma export`.

#include "app/cli/ModelArgs.h"

#include <torch/torch.h>

namespace prisma::cli {

namespace {
constexpr uint64_t kCheckSeed = 0;
constexpr int64_t kCheckBatch = 2;
}  // namespace

io::LoadOptions loadOptions(const CliArgs& a) {
  io::LoadOptions o;
  if (a.has("heads")) o.n_heads = a.intValue("heads", 0, kCount);
  return o;
}

torch::Tensor checkBatch(const ViTConfig& cfg) {
  auto gen = at::detail::createCPUGenerator(kCheckSeed);
  return torch::randn({kCheckBatch, cfg.n_channels, cfg.image_size, cfg.image_size}, gen);
}

}  // namespace prisma::cli
